//! An M/D/c queue in a few lines, the independent truth the capacity
//! tests hold the search against: Poisson arrivals, `slots` servers, every
//! request holding a slot for `service_s`; a request's TTFT is its wait
//! for a slot plus `prefill_s`. Lindley's recursion for c servers, as
//! Kiefer and Wolfowitz wrote it: each arrival takes the slot that frees
//! first. Not the sim's code, so the sim is checked, not echoed.

use infer_bench::capacity::{bootstrap, next, Estimate, Next, Probe, Stop};
use infer_bench::experiment::CapacitySpec;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

#[derive(Debug, Clone, Copy)]
pub struct Mdc {
    pub slots: usize,
    pub service_s: f64,
    pub prefill_s: f64,
    pub ttft_limit_s: f64,
    /// Requests in one trial, from an empty queue.
    pub requests: usize,
}

impl Mdc {
    /// Unit-rate exponential gaps: arrivals at rate λ are their sums over λ.
    pub fn unit_gaps(&self, rng: &mut StdRng) -> Vec<f64> {
        (0..self.requests)
            .map(|_| -(1.0 - rng.random_range(0.0..1.0f64)).ln())
            .collect()
    }

    /// Each request's wait for a slot, arrivals at `arrivals_s` (ascending).
    pub fn waits(&self, arrivals_s: impl IntoIterator<Item = f64>) -> Vec<f64> {
        let mut free = vec![0.0f64; self.slots];
        arrivals_s
            .into_iter()
            .map(|t| {
                let (slot, at) = free
                    .iter()
                    .copied()
                    .enumerate()
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .expect("at least one slot");
                let wait = (at - t).max(0.0);
                free[slot] = t + wait + self.service_s;
                wait
            })
            .collect()
    }

    /// Share of one trial's requests whose TTFT meets the limit at `rate`.
    pub fn attainment(&self, gaps: &[f64], rate: f64) -> f64 {
        self.attainment_with(gaps, None, rate)
    }

    /// As [`Mdc::attainment`], each request's TTFT longer by an overhead
    /// (`draws`: the overheads, and one uniform draw per request).
    pub fn attainment_with(
        &self,
        gaps: &[f64],
        draws: Option<(&Overheads, &[f64])>,
        rate: f64,
    ) -> f64 {
        let mut t = 0.0;
        let arrivals = gaps.iter().map(|g| {
            t += g / rate;
            t
        });
        let extra = |i: usize| draws.map_or(0.0, |(o, u)| o.draw(u[i]));
        let met = self
            .waits(arrivals)
            .iter()
            .enumerate()
            .filter(|&(i, &w)| w + self.prefill_s + extra(i) <= self.ttft_limit_s)
            .count();
        met as f64 / gaps.len() as f64
    }

    /// The rate at which a trial's expected attainment is `share`: each
    /// trial `requests` requests from an empty queue (the quantity a search
    /// over such trials estimates; a short trial's attainment is higher
    /// than the steady state's), by bisection in log-rate over `trials`
    /// trials with common random numbers drawn from `seed`.
    pub fn capacity(&self, share: f64, trials: usize, seed: u64, bounds: (f64, f64)) -> f64 {
        self.capacity_with(share, trials, seed, bounds, None)
    }

    /// As [`Mdc::capacity`], each request's TTFT longer by an overhead
    /// drawn from `overheads`.
    pub fn capacity_with(
        &self,
        share: f64,
        trials: usize,
        seed: u64,
        (lo, hi): (f64, f64),
        overheads: Option<&Overheads>,
    ) -> f64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let draws: Vec<(Vec<f64>, Vec<f64>)> = (0..trials)
            .map(|_| {
                let gaps = self.unit_gaps(&mut rng);
                let uniforms = match overheads {
                    None => Vec::new(),
                    Some(_) => (0..self.requests)
                        .map(|_| rng.random_range(0.0..1.0))
                        .collect(),
                };
                (gaps, uniforms)
            })
            .collect();
        let mean = |rate: f64| {
            let sum: f64 = draws
                .iter()
                .map(|(g, u)| self.attainment_with(g, overheads.map(|o| (o, &u[..])), rate))
                .sum();
            sum / trials as f64
        };
        let (mut lo, mut hi) = (lo, hi);
        // To a ten-thousandth: well inside the Monte Carlo error of the mean.
        while hi / lo > 1.0001 {
            let mid = (lo * hi).sqrt();
            if mean(mid) >= share {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo * hi).sqrt()
    }
}

/// What one search of the capacity core gives against this queue's trials,
/// each trial's margin its attainment less `share`.
pub struct Searched {
    pub estimate: Estimate,
    pub stop: Stop,
    /// Seconds of load its trials offered (requests / rate, summed).
    pub seconds: f64,
}

impl Mdc {
    /// One search of the core (`bootstrap`, `next`) against trials drawn
    /// from this queue from `seed`, as the runner would run it.
    pub fn search(&self, spec: &CapacitySpec, share: f64, seed: u64) -> Searched {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut probes: Vec<Probe> = Vec::new();
        let mut seconds = 0.0;
        loop {
            let e = bootstrap(&probes, 1, spec.confidence, seed);
            match next(spec, &probes, e.as_ref()) {
                Next::Probe(rate) => {
                    let trials = (0..spec.trials_per_probe)
                        .map(|_| {
                            seconds += self.requests as f64 / rate;
                            vec![self.attainment(&self.unit_gaps(&mut rng), rate) - share]
                        })
                        .collect();
                    probes.push(Probe::new(rate, trials));
                }
                Next::Stop(stop) => {
                    let estimate = e.expect("a search that probed");
                    return Searched {
                        estimate,
                        stop,
                        seconds,
                    };
                }
            }
        }
    }
}

/// What a real run adds to a request's TTFT beyond the queue's account of
/// it (the HTTP round trip, the client's and the host's own delays), as
/// measured; each simulated request draws one.
pub struct Overheads(pub Vec<f64>);

impl Overheads {
    /// The overhead chosen by `u` in [0, 1).
    pub fn draw(&self, u: f64) -> f64 {
        self.0[((u * self.0.len() as f64) as usize).min(self.0.len() - 1)]
    }
}

/// The one-sided 99 % binomial floor on a coverage of `nominal` over `n`
/// seeds, as a share: the largest k/n with P(X < k) ≤ 0.01 for X ~
/// Binomial(n, nominal), exact (a normal approximation is off at a few
/// seeds). Below it, the interval under-covers.
pub fn coverage_floor(nominal: f64, n: usize) -> f64 {
    let pmf = |i: usize| {
        let ln_choose: f64 = (1..=i).map(|j| ((n - i + j) as f64 / j as f64).ln()).sum();
        (ln_choose + i as f64 * nominal.ln() + (n - i) as f64 * (1.0 - nominal).ln()).exp()
    };
    let mut below = 0.0; // P(X < k)
    let mut k = 0;
    while k < n && below + pmf(k) <= 0.01 {
        below += pmf(k);
        k += 1;
    }
    k as f64 / n as f64
}
