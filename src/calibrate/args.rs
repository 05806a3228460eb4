//! What `infer-bench calibrate` takes: the load points and the sim's
//! known timings.

use std::path::PathBuf;

/// The calibration's load points and the sim's true timings.
#[derive(Debug, Clone, clap::Args)]
pub struct CalibrateArgs {
    /// Closed-loop load points: concurrent streams.
    #[arg(long, value_delimiter = ',', default_value = "1,100,500,1000")]
    pub concurrency: Vec<usize>,
    /// Open-loop load points: Poisson arrivals per second (send lag).
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    pub rate: Vec<f64>,
    /// The sim's true time to first token.
    #[arg(long, default_value_t = 50.0)]
    pub ttft_ms: f64,
    /// The sim's true gap between tokens.
    #[arg(long, default_value_t = 10.0)]
    pub itl_ms: f64,
    /// Output tokens per request.
    #[arg(long, default_value_t = 100)]
    pub tokens: u64,
    /// Closed loop: each stream sends this many requests one after another.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Open loop: seconds of arrivals per rate.
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Also write the rows as JSON (`{"rows": [...]}`) to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}
