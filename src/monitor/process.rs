//! Memory and CPU of a process group, from /proc (Linux).

/// Resident memory and CPU time of every process in a group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupUsage {
    pub rss_bytes: u64,
    /// User + system CPU time, in seconds.
    pub cpu_s: f64,
    /// The group's processes, so GPU memory can be attributed to them.
    pub pids: Vec<u32>,
}

/// Sum over the processes whose process group is `pgid`; `None` where /proc
/// is absent or the group has no processes left.
pub fn group_usage(pgid: u32) -> Option<GroupUsage> {
    let ticks = clock_ticks();
    let page = page_size();
    let mut usage = GroupUsage {
        rss_bytes: 0,
        cpu_s: 0.0,
        pids: Vec::new(),
    };
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(fields) = parse_stat(&stat) else {
            continue;
        };
        if fields.pgrp != pgid {
            continue;
        }
        usage.pids.push(pid);
        usage.rss_bytes += fields.rss_pages * page;
        usage.cpu_s += (fields.utime + fields.stime) as f64 / ticks;
    }
    (!usage.pids.is_empty()).then_some(usage)
}

/// A process's CPU time (user + system, all threads), in seconds.
pub fn cpu_s_of(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let f = parse_stat(&stat)?;
    Some((f.utime + f.stime) as f64 / clock_ticks())
}

/// This process's CPU time (user + system, all threads), in seconds.
pub fn own_cpu_s() -> Option<f64> {
    // SAFETY: getrusage writes into the struct we own.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return None;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(secs(u.ru_utime) + secs(u.ru_stime))
}

/// Start this process's peak resident memory afresh (Linux's `clear_refs`
/// value 5), so a peak read later belongs to what ran since. False where the
/// kernel does not allow it: the peak is then the process's whole life's.
pub fn reset_own_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// This process's peak resident memory (`VmHWM`), in bytes.
pub fn own_peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_kib(&status, "VmHWM:")
}

fn parse_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[derive(Debug, PartialEq)]
struct Stat {
    pgrp: u32,
    utime: u64,
    stime: u64,
    rss_pages: u64,
}

/// Fields of `/proc/<pid>/stat` (proc(5)); the command name in parentheses may
/// hold spaces and parentheses, so fields are counted after the last ')'.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) pgrp(5) ... utime(14) stime(15) ... rss(24).
    let at = |n: usize| f.get(n - 3).and_then(|s| s.parse::<u64>().ok());
    Some(Stat {
        pgrp: at(5)? as u32,
        utime: at(14)?,
        stime: at(15)?,
        rss_pages: at(24)?,
    })
}

pub(super) fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_names() {
        let line = "4242 (my (odd) server) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 12345 1000000 2560 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                pgrp: 4242,
                utime: 250,
                stime: 50,
                rss_pages: 2560
            })
        );
    }

    #[test]
    fn reads_own_peak_and_cpu() {
        assert_eq!(
            parse_kib("Name:\tx\nVmHWM:\t   2048 kB\nVmRSS:\t1 kB\n", "VmHWM:"),
            Some(2 << 20)
        );
        let before = own_cpu_s().unwrap();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(own_cpu_s().unwrap() > before);
        let _ = reset_own_peak_rss();
        assert!(own_peak_rss_bytes().unwrap() > 1 << 20);
    }

    #[test]
    fn reads_this_process_group() {
        // SAFETY: getpgrp has no preconditions.
        let pgid = unsafe { libc::getpgrp() } as u32;
        let u = group_usage(pgid).expect("this process is in its own group");
        assert!(u.rss_bytes > 1 << 20, "{u:?}");
        assert!(u.pids.contains(&std::process::id()), "{u:?}");
    }
}
