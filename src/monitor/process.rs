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

#[derive(Debug, PartialEq)]
struct Stat {
    pgrp: u32,
    utime: u64,
    stime: u64,
    rss_pages: u64,
}

/// Fields of /proc/<pid>/stat (proc(5)); the command name in parentheses may
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

fn clock_ticks() -> f64 {
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
    fn reads_this_process_group() {
        // SAFETY: getpgrp has no preconditions.
        let pgid = unsafe { libc::getpgrp() } as u32;
        let u = group_usage(pgid).expect("this process is in its own group");
        assert!(u.rss_bytes > 1 << 20, "{u:?}");
        assert!(u.pids.contains(&std::process::id()), "{u:?}");
    }
}
