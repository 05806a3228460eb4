//! The reference server's latency model. Pure: inputs in, milliseconds out;
//! randomness comes from the caller's seeded generator.
//!
//! - The server has `slots` parallel sequences; a request waits for a free one
//!   (queueing shows up in TTFT).
//! - Prefill: TTFT after a slot is free = (ttft_base_ms + prefill_ms_per_token
//!   × prompt_tokens) / speed.
//! - Decode: each further token comes decode_ms_per_token × (1 + contention ×
//!   (active − 1)) / speed after the previous one, where `active` is the number
//!   of requests decoding at that moment.
//! - Jitter: every duration is multiplied by a log-normal factor with
//!   σ = `jitter` (0 turns noise off, which tests use to check timings).
//! - Speed: a factor read from the model name (see [`speed_of`]).

pub use crate::experiment::sim_spec::{Faults, SimModel};
use rand::Rng;
use rand_distr::{Distribution, LogNormal};

/// The fault a request drew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Error,
    RateLimited,
    Unavailable,
    Stall,
    Drop,
    Malformed,
}

impl Faults {
    fn shares(&self) -> [(Fault, f64); 6] {
        [
            (Fault::Error, self.error),
            (Fault::RateLimited, self.rate_limited),
            (Fault::Unavailable, self.unavailable),
            (Fault::Stall, self.stall),
            (Fault::Drop, self.drop),
            (Fault::Malformed, self.malformed),
        ]
    }

    /// The fault for a uniform draw `u` in [0, 1), or none.
    pub fn pick(&self, u: f64) -> Option<Fault> {
        let mut edge = 0.0;
        for (fault, share) in self.shares() {
            edge += share;
            if u < edge {
                return Some(fault);
            }
        }
        None
    }
}

impl SimModel {
    /// Modelled time from a free slot to the first token, without noise.
    pub fn prefill_ms(&self, prompt_tokens: usize, speed: f64) -> f64 {
        (self.ttft_base_ms + self.prefill_ms_per_token * prompt_tokens as f64) / speed
    }

    /// Modelled gap between two tokens with `active` streams decoding, without noise.
    pub fn gap_ms(&self, active: usize, speed: f64) -> f64 {
        let extra = active.saturating_sub(1) as f64;
        self.decode_ms_per_token * (1.0 + self.contention * extra) / speed
    }

    /// A noise factor with median 1.
    pub fn noise<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        if self.jitter == 0.0 {
            return 1.0;
        }
        match LogNormal::new(0.0, self.jitter) {
            Ok(d) => d.sample(rng),
            Err(_) => 1.0,
        }
    }
}

/// Speed factor carried by a model name, so a `quant` factor shows known
/// differences: an explicit `@1.5x` suffix wins; otherwise a quantisation
/// name found in it (lower bits decode faster, as on memory-bound hardware);
/// otherwise 1.
pub fn speed_of(model: &str) -> f64 {
    let lower = model.to_ascii_lowercase();
    if let Some((_, suffix)) = lower.rsplit_once('@') {
        if let Some(x) = suffix.strip_suffix('x').and_then(|s| s.parse::<f64>().ok()) {
            if x.is_finite() && x > 0.0 {
                return x;
            }
        }
    }
    // Longest names first so `q4_k_m` is not read as `q4_k`.
    const QUANTS: &[(&str, f64)] = &[
        ("q4_k_m", 1.0),
        ("q4_k_s", 1.05),
        ("q5_k_m", 0.9),
        ("q6_k", 0.8),
        ("q8_0", 0.7),
        ("q4_0", 1.05),
        ("q4_k", 1.0),
        ("q3_k", 1.15),
        ("q2_k", 1.3),
        ("bf16", 0.45),
        ("f16", 0.45),
        ("f32", 0.25),
    ];
    QUANTS
        .iter()
        .find(|(q, _)| lower.contains(q))
        .map_or(1.0, |(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_picked_by_their_shares_and_parsed_from_the_command_line() {
        let f = Faults::parse("error=0.1, drop=0.2,stall_ms=50").unwrap();
        assert_eq!((f.error, f.drop, f.stall_ms), (0.1, 0.2, 50.0));
        assert_eq!(f.pick(0.05), Some(Fault::Error));
        assert_eq!(f.pick(0.15), Some(Fault::Drop));
        assert_eq!(f.pick(0.29), Some(Fault::Drop));
        assert_eq!(f.pick(0.31), None);
        assert_eq!(Faults::default().pick(0.0), None);
        assert!(Faults::parse("error=0.7,drop=0.7").is_err());
        assert!(Faults::parse("boom=0.1")
            .unwrap_err()
            .contains("unknown fault 'boom'"));
    }

    #[test]
    fn model_is_documented_formula() {
        let m = SimModel::default();
        assert!((m.prefill_ms(100, 1.0) - (12.0 + 8.0)).abs() < 1e-9);
        assert!((m.prefill_ms(100, 2.0) - 10.0).abs() < 1e-9);
        assert!((m.gap_ms(1, 1.0) - 8.0).abs() < 1e-9);
        assert!((m.gap_ms(3, 1.0) - 8.0 * 1.6).abs() < 1e-9);
    }

    #[test]
    fn speeds_from_names() {
        assert_eq!(speed_of("sim-q4_K_M"), 1.0);
        assert_eq!(speed_of("sim-q2_K"), 1.3);
        assert_eq!(speed_of("sim-Q8_0"), 0.7);
        assert_eq!(speed_of("anything@2x"), 2.0);
        assert_eq!(speed_of("plain"), 1.0);
    }

    #[test]
    fn no_jitter_means_no_noise() {
        let m = SimModel {
            jitter: 0.0,
            ..SimModel::default()
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert_eq!(m.noise(&mut rng), 1.0);
    }

    use rand::SeedableRng;
}
