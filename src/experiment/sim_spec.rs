//! Options of the built-in reference server (`target.sim`, `infer-bench sim`):
//! its latency model's parameters and the faults it injects. The model
//! itself, which reads them, lives in `sim::model`.

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

impl Faults {
    /// Each fault's share, by its name in the experiment file.
    fn named(&self) -> [(&'static str, f64); 6] {
        [
            ("error", self.error),
            ("rate_limited", self.rate_limited),
            ("unavailable", self.unavailable),
            ("stall", self.stall),
            ("drop", self.drop),
            ("malformed", self.malformed),
        ]
    }

    pub fn check(&self) -> Result<(), String> {
        let mut total = 0.0;
        for (fault, share) in self.named() {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!(
                    "sim fault share {fault} must lie in [0, 1], got {share}"
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
        // Each is a time the sim waits: one limit for every duration.
        for (name, ms) in [
            ("sim ttft_base_ms", self.ttft_base_ms),
            ("sim prefill_ms_per_token", self.prefill_ms_per_token),
            ("sim decode_ms_per_token", self.decode_ms_per_token),
            ("sim stall_ms", self.faults.stall_ms),
        ] {
            crate::limits::seconds(name, ms / 1000.0).map_err(|r| r.to_string())?;
        }
        crate::limits::seconds("sim slow_start_s", self.faults.slow_start_s)
            .map_err(|r| r.to_string())?;
        self.faults.check()?;
        if self.jitter > 2.0 {
            return Err(format!(
                "sim jitter {} is implausibly large, expected ≤ 2",
                self.jitter
            ));
        }
        Ok(())
    }
}
