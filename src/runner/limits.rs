//! Open files: every request in flight holds a socket. The soft limit is
//! raised to the hard one before a run; a run that would still need more
//! is refused up front with what to do (`experiment::validate::open_files`),
//! instead of failing mid-trial with "too many open files".

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_keeps_what_the_process_had() {
        // Raising never lowers what the process had.
        let (soft, hard) = raise_open_files().unwrap();
        assert_eq!(soft, hard);
    }
}
