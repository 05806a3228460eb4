//! An open loop above capacity measures the backlog, not the server: its
//! queue grows for as long as the trial lasts. A trial's queue growth is the
//! mean sojourn (completion − scheduled arrival, so the client's own send
//! lag counts) of its last third of arrivals over that of its first third.
//! A stable queue keeps it near 1 (above 1 only while it fills from empty);
//! one that grows without bound makes it rise with the trial's length.

/// Growth at or above which a trial's queue counts as growing: the late
/// requests spend twice as long in the system as the early ones.
pub const SATURATION_RATIO: f64 = 2.0;

/// Fewest requests for a growth: three thirds of three.
const FEWEST: usize = 9;

/// The queue's growth over a trial from each request's scheduled arrival
/// and its end (completed or failed), both in seconds since the trial
/// began; `None` with fewer than 9 requests.
pub fn queue_growth(scheduled_s: &[f64], ended_s: &[f64]) -> Option<f64> {
    let mut pairs: Vec<(f64, f64)> = scheduled_s
        .iter()
        .zip(ended_s)
        .map(|(&s, &e)| (s, (e - s).max(0.0)))
        .collect();
    if pairs.len() < FEWEST {
        return None;
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let third = pairs.len() / 3;
    let mean = |p: &[(f64, f64)]| p.iter().map(|x| x.1).sum::<f64>() / p.len() as f64;
    let first = mean(&pairs[..third]);
    let last = mean(&pairs[pairs.len() - third..]);
    // An instant first third (sojourns of 0) grows by any later wait.
    Some(if first > 0.0 {
        last / first
    } else if last > 0.0 {
        f64::INFINITY
    } else {
        1.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One server, service 1 s: arrivals every 0.5 s (twice its capacity)
    /// wait ever longer; arrivals every 2 s never wait.
    fn single_server(gap: f64, n: usize) -> (Vec<f64>, Vec<f64>) {
        let mut free = 0.0f64;
        let arrivals: Vec<f64> = (0..n).map(|i| i as f64 * gap).collect();
        let ends = arrivals
            .iter()
            .map(|&a| {
                free = free.max(a) + 1.0;
                free
            })
            .collect();
        (arrivals, ends)
    }

    #[test]
    fn an_overloaded_queue_grows_and_a_stable_one_does_not() {
        let (a, e) = single_server(0.5, 30);
        // Sojourn of request k is 1 + k/2: first third 3.25 s, last 13.25 s on average.
        let g = queue_growth(&a, &e).unwrap();
        assert!((g - 13.25 / 3.25).abs() < 1e-9, "{g}");
        assert!(g > SATURATION_RATIO);
        let (a, e) = single_server(2.0, 30);
        assert_eq!(queue_growth(&a, &e), Some(1.0));
        assert_eq!(queue_growth(&a[..5], &e[..5]), None);
    }
}
