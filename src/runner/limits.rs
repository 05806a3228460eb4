//! Open files: every request in flight holds a socket. The soft limit is
//! raised to the hard one before a run; a run that would still need more
//! is refused up front with what to do, instead of failing mid-trial with
//! "too many open files".

/// Files the process needs beside its sockets: the run folder's logs,
/// the runtime, a launched server's pipes.
const SPARE: u64 = 64;

/// `(soft, hard)` after raising the soft limit as far as allowed.
pub fn raise_open_files() -> Option<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return None;
    }
    if r.rlim_cur < r.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: r.rlim_max,
            rlim_max: r.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own; raising the soft limit
        // up to the hard one needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            r.rlim_cur = r.rlim_max;
        }
    }
    // rlim_t is u64 on Linux, not on every platform.
    #[allow(clippy::unnecessary_cast)]
    Some((r.rlim_cur as u64, r.rlim_max as u64))
}

/// An error where `in_flight` requests (plus spare files) do not fit `soft`.
pub fn check_open_files(in_flight: u64, soft: u64, hard: u64) -> Result<(), String> {
    let need = in_flight + SPARE;
    if need <= soft {
        return Ok(());
    }
    Err(format!(
        "{in_flight} requests in flight need about {need} open files, but the limit is {soft} \
         (hard limit {hard}); raise it (`ulimit -n {need}`, or LimitNOFILE= for a service) or lower \
         the concurrency"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_does_not_fit_and_says_how_to_fix_it() {
        assert!(check_open_files(100, 1024, 4096).is_ok());
        let e = check_open_files(1000, 1024, 1024).unwrap_err();
        assert!(
            e.contains("1064 open files") && e.contains("ulimit -n 1064"),
            "{e}"
        );
        // Raising never lowers what the process had.
        let (soft, hard) = raise_open_files().unwrap();
        assert_eq!(soft, hard);
    }
}
