//! The monotone fit: each objective's margin against load, as a
//! non-increasing step through the probes (isotonic regression by pool
//! adjacent violators, weighted by trials), and where it crosses zero.

use super::Probe;

/// Where the fitted margins cross zero, for every objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Capacity: the lowest of the objectives' crossings.
    pub capacity: f64,
    /// Index of the objective whose crossing is lowest.
    pub binding: usize,
    /// Every objective held at every probed load: the capacity is at
    /// least the highest probe.
    pub above: bool,
    /// No objective held at the lowest probe: the capacity is below it.
    pub below: bool,
    /// Per objective: (distinct load, fitted margin), loads ascending.
    pub curves: Vec<Vec<(f64, f64)>>,
}

/// Isotonic (non-increasing) regression of `y` with weights `w`, by pool
/// adjacent violators: the least-squares non-increasing fit.
pub fn antitonic(y: &[f64], w: &[f64]) -> Vec<f64> {
    // Blocks of (weighted mean, weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(y.len());
    for (&v, &wt) in y.iter().zip(w) {
        blocks.push((v, wt, 1));
        while blocks.len() > 1 {
            let n = blocks.len();
            let (b, a) = (blocks[n - 1], blocks[n - 2]);
            if a.0 >= b.0 {
                break;
            }
            let weight = a.1 + b.1;
            blocks[n - 2] = ((a.0 * a.1 + b.0 * b.1) / weight, weight, a.2 + b.2);
            blocks.pop();
        }
    }
    blocks
        .iter()
        .flat_map(|&(m, _, k)| std::iter::repeat_n(m, k))
        .collect()
}

/// One objective's fitted curve over the distinct loads of `probes`.
fn curve(probes: &[Probe], objective: usize) -> Vec<(f64, f64)> {
    let mut by_load: Vec<(f64, f64, f64)> = Vec::new(); // (load, sum, n)
    let mut sorted: Vec<&Probe> = probes.iter().collect();
    sorted.sort_by(|a, b| a.load.total_cmp(&b.load));
    for p in sorted {
        let sum: f64 = p.trials.iter().map(|t| t[objective]).sum();
        let n = p.trials.len() as f64;
        match by_load.last_mut() {
            Some(last) if last.0 == p.load => {
                last.1 += sum;
                last.2 += n;
            }
            _ if n > 0.0 => by_load.push((p.load, sum, n)),
            _ => {}
        }
    }
    let means: Vec<f64> = by_load.iter().map(|b| b.1 / b.2).collect();
    let weights: Vec<f64> = by_load.iter().map(|b| b.2).collect();
    let fitted = antitonic(&means, &weights);
    by_load.iter().map(|b| b.0).zip(fitted).collect()
}

/// Highest load at which the curve holds (margin ≥ 0): between the last
/// load that holds and the next, where the line joining their fitted
/// margins in log-load meets zero. `None` when it fails at every load;
/// the highest load (and `true`) when it holds at every one.
fn crossing(curve: &[(f64, f64)]) -> Option<(f64, bool)> {
    let last_ok = curve.iter().rposition(|&(_, m)| m >= 0.0)?;
    let Some(&(x1, m1)) = curve.get(last_ok + 1) else {
        return Some((curve[last_ok].0, true));
    };
    let (x0, m0) = curve[last_ok];
    // m0 ≥ 0 > m1, so the share lies in [0, 1).
    let share = m0 / (m0 - m1);
    Some(((x0.ln() + share * (x1.ln() - x0.ln())).exp(), false))
}

/// The fit of every objective over `probes` (trials hold one margin per
/// objective); `None` without a trial.
pub fn fit(probes: &[Probe], objectives: usize) -> Option<Fit> {
    let lowest = probes
        .iter()
        .filter(|p| !p.trials.is_empty())
        .map(|p| p.load)
        .min_by(f64::total_cmp)?;
    let curves: Vec<Vec<(f64, f64)>> = (0..objectives).map(|j| curve(probes, j)).collect();
    let mut best: Option<(f64, usize, bool)> = None;
    for (j, c) in curves.iter().enumerate() {
        let (x, above) = crossing(c).unwrap_or((lowest, false));
        let fails_everywhere = crossing(c).is_none();
        let x = if fails_everywhere { 0.0 } else { x };
        if best.is_none_or(|b| x < b.0) {
            best = Some((x, j, above));
        }
    }
    let (capacity, binding, above) = best?;
    let below = capacity == 0.0;
    Some(Fit {
        capacity: if below { lowest } else { capacity },
        binding,
        above: above && !below,
        below,
        curves,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_adjacent_violators_matches_a_hand_worked_fit() {
        // Non-increasing fit of [3, 1, 2, 0] (unit weights): 1 and 2 pool
        // to 1.5, the rest stand (worked by hand: the least-squares fit).
        assert_eq!(
            antitonic(&[3.0, 1.0, 2.0, 0.0], &[1.0; 4]),
            [3.0, 1.5, 1.5, 0.0]
        );
        // Weights pull a pool toward the heavier point: (1·1 + 3·2)/4.
        assert_eq!(antitonic(&[1.0, 2.0], &[1.0, 3.0]), [1.75, 1.75]);
        assert_eq!(antitonic(&[], &[]), Vec::<f64>::new());
    }

    fn probe(load: f64, margins: &[f64]) -> Probe {
        Probe::new(load, margins.iter().map(|&m| vec![m]).collect())
    }

    #[test]
    fn the_capacity_is_where_the_fitted_margin_meets_zero_in_log_load() {
        let probes = [
            probe(1.0, &[0.5, 0.5]),
            probe(4.0, &[0.1, 0.1]),
            probe(16.0, &[-0.1, -0.1]),
        ];
        let f = fit(&probes, 1).unwrap();
        // Halfway between 4 and 16 in log-load: 8.
        assert!((f.capacity - 8.0).abs() < 1e-9, "{f:?}");
        assert!(!f.above && !f.below);
        let held = fit(&probes[..2], 1).unwrap();
        assert!(held.above && held.capacity == 4.0);
        let failed = fit(&probes[2..], 1).unwrap();
        assert!(failed.below && failed.capacity == 16.0);
    }

    #[test]
    fn the_lowest_crossing_binds() {
        let probes = [
            Probe::new(2.0, vec![vec![0.2, 0.2]]),
            Probe::new(8.0, vec![vec![0.1, -0.3]]),
        ];
        let f = fit(&probes, 2).unwrap();
        assert_eq!(f.binding, 1);
        assert!(f.capacity > 2.0 && f.capacity < 8.0);
    }
}
