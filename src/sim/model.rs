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

use rand::Rng;
use rand_distr::{Distribution, LogNormal};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SimModel {
    /// Parallel sequences (llama.cpp's `-np`); further requests queue.
    pub slots: usize,
    pub ttft_base_ms: f64,
    pub prefill_ms_per_token: f64,
    pub decode_ms_per_token: f64,
    /// Relative slowdown of every stream's inter-token gap per extra active stream.
    pub contention: f64,
    /// σ of the log-normal noise on every duration; 0 for none.
    pub jitter: f64,
    /// Seeds the noise and the generated text.
    pub seed: u64,
    /// Faults to inject, for testing how a benchmark copes with a failing server.
    pub faults: Faults,
}

/// Injected faults. Each generation request draws at most one, with these
/// probabilities (their sum at most 1), from the sim's seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Answered `500` at once.
    pub error: f64,
    /// Answered `429 Too Many Requests` with `Retry-After: 1`.
    pub rate_limited: f64,
    /// Answered `503 Service Unavailable` with `Retry-After: 1`.
    pub unavailable: f64,
    /// Pause mid-stream for `stall_ms`, then go on (slow, not failed).
    pub stall: f64,
    pub stall_ms: f64,
    /// The connection is cut mid-stream.
    pub drop: f64,
    /// An event that is not JSON, mid-stream.
    pub malformed: f64,
    /// For this long after the start every request, `/health` included,
    /// answers 503: a server still loading its model.
    pub slow_start_s: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            error: 0.0,
            rate_limited: 0.0,
            unavailable: 0.0,
            stall: 0.0,
            stall_ms: 2000.0,
            drop: 0.0,
            malformed: 0.0,
            slow_start_s: 0.0,
        }
    }
}

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

    pub fn check(&self) -> Result<(), String> {
        let mut total = 0.0;
        for (fault, share) in self.shares() {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!(
                    "sim fault share {fault:?} must lie in [0, 1], got {share}"
                ));
            }
            total += share;
        }
        if total > 1.0 + 1e-9 {
            return Err(format!(
                "sim fault shares add up to {total}, expected at most 1"
            ));
        }
        let sane = |v: f64| v >= 0.0 && v.is_finite();
        if !(sane(self.stall_ms) && sane(self.slow_start_s)) {
            return Err("sim stall_ms and slow_start_s must be ≥ 0".into());
        }
        Ok(())
    }

    /// `error=0.05,drop=0.02,stall_ms=500`, as `infer-bench sim --faults` takes them.
    pub fn parse(spec: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("expected name=value in '{part}'"))?;
            let v: f64 = value
                .trim()
                .parse()
                .map_err(|_| format!("'{value}' is not a number (in '{part}')"))?;
            let slot = match key.trim() {
                "error" => &mut f.error,
                "rate_limited" => &mut f.rate_limited,
                "unavailable" => &mut f.unavailable,
                "stall" => &mut f.stall,
                "stall_ms" => &mut f.stall_ms,
                "drop" => &mut f.drop,
                "malformed" => &mut f.malformed,
                "slow_start_s" => &mut f.slow_start_s,
                other => {
                    return Err(format!(
                        "unknown fault '{other}', expected error, rate_limited, unavailable, stall, stall_ms, drop, malformed or slow_start_s"
                    ))
                }
            };
            *slot = v;
        }
        f.check()?;
        Ok(f)
    }
}

impl Default for SimModel {
    fn default() -> Self {
        Self {
            slots: 4,
            ttft_base_ms: 12.0,
            prefill_ms_per_token: 0.08,
            decode_ms_per_token: 8.0,
            contention: 0.3,
            jitter: 0.05,
            seed: 0,
            faults: Faults::default(),
        }
    }
}

/// Slots of a calibration sim: enough that no request ever queues.
pub const UNLIMITED_SLOTS: usize = 1 << 20;

impl SimModel {
    /// Known latencies for calibrating the harness: TTFT `ttft_ms` whatever
    /// the prompt, every further token `itl_ms` later, no contention, no
    /// noise, no queue.
    pub fn fixed(ttft_ms: f64, itl_ms: f64) -> SimModel {
        SimModel {
            slots: UNLIMITED_SLOTS,
            ttft_base_ms: ttft_ms,
            prefill_ms_per_token: 0.0,
            decode_ms_per_token: itl_ms,
            contention: 0.0,
            jitter: 0.0,
            ..SimModel::default()
        }
    }

    pub fn check(&self) -> Result<(), String> {
        let nonneg = [
            ("ttft_base_ms", self.ttft_base_ms),
            ("prefill_ms_per_token", self.prefill_ms_per_token),
            ("decode_ms_per_token", self.decode_ms_per_token),
            ("contention", self.contention),
            ("jitter", self.jitter),
        ];
        if self.slots == 0 {
            return Err("sim slots must be at least 1".into());
        }
        for (name, v) in nonneg {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("sim {name} must be a finite number ≥ 0, got {v}"));
            }
        }
        self.faults.check()?;
        if self.jitter > 2.0 {
            return Err(format!(
                "sim jitter {} is implausibly large, expected ≤ 2",
                self.jitter
            ));
        }
        Ok(())
    }

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
