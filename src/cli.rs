//! Command-line definitions.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "infer-bench",
    version,
    about = "Declarative benchmarks for LLM inference servers"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan and run an experiment, then analyse it and print the summary.
    Run(RunArgs),
    /// Load and check an experiment; print the plan's size and a duration estimate.
    Validate {
        experiment: PathBuf,
        /// A run folder to plan from (a pilot) instead of the newest run of
        /// the experiment under --out.
        #[arg(long, value_name = "RUN")]
        from: Option<PathBuf>,
        /// The results folder `run --out` writes to, searched for the
        /// experiment's newest run.
        #[arg(long, default_value = "results")]
        out: PathBuf,
    },
    /// Print the trials in execution order.
    Plan {
        experiment: PathBuf,
        /// One JSON object per trial.
        #[arg(long)]
        json: bool,
        /// Show how `run --shard I/N` splits the plan into N shards.
        #[arg(long, value_name = "N")]
        shards: Option<usize>,
    },
    /// Shard an experiment over a Slurm cluster.
    #[command(subcommand)]
    Slurm(SlurmCommand),
    /// Join the run folders of one experiment's shards into one run folder.
    Merge {
        /// Every shard's run folder.
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        /// Where the merged run goes [default: beside the shards, a new run id].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Re-analyse a run folder and write its tables and reports.
    Report {
        run: PathBuf,
        /// Formats: table, md, csv, json, html (csv, md and html are always written).
        #[arg(long, value_delimiter = ',', default_value = "table")]
        format: Vec<infer_bench::report::Format>,
        /// Judge the run against other SLOs, without rerunning it: a YAML
        /// file holding an SLO block, or KEY=VALUE for one objective
        /// (`ttft_p95_ms=500`, `p50_latency_s=null`); repeatable, in order.
        #[arg(long, value_name = "FILE|KEY=VALUE")]
        slo: Vec<String>,
    },
    /// Compare the same configurations in two runs (B against A) with Welch tests.
    Compare(CompareArgs),
    /// List the runs of one experiment over time and chart a metric across them.
    History {
        /// An experiment's results folder, e.g. results/quickstart.
        dir: PathBuf,
        /// Metric to chart (a column of trials.parquet).
        #[arg(long, default_value = "output_tok_s")]
        metric: String,
        /// Configuration whose metrics the table shows.
        #[arg(long, default_value = "baseline")]
        config: String,
        /// Where to write the page [default: DIR/history.html].
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Run a recorded experiment again (same seed, same plan) and test each
    /// configuration and metric for equivalence with the recorded result.
    Reproduce(ReproduceArgs),
    /// Serve the built-in reference server (a simulation, not a model).
    Sim(SimArgs),
    /// Measure the harness's own error and overhead against a sim with fixed,
    /// known TTFT and ITL run in a separate process.
    Calibrate(infer_bench::calibrate::CalibrateArgs),
    /// Write a commented starter experiment, its prompt set and the schema
    /// into DIR (default: here); then `infer-bench run experiment.yaml`.
    Init {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Print the JSON Schema of experiment files (or of summary.json).
    Schema {
        /// The schema of summary.json instead.
        #[arg(long)]
        summary: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SlurmCommand {
    /// Write an sbatch script (a job array, one shard per task) and submit it.
    Submit(SubmitArgs),
}

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    pub experiment: PathBuf,
    /// Array tasks, one shard of the plan each (whole repetition blocks).
    #[arg(long)]
    pub shards: usize,
    /// Results root, on storage every node sees.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[arg(long)]
    pub partition: Option<String>,
    /// Generic resources per task, e.g. gpu:1.
    #[arg(long)]
    pub gres: Option<String>,
    /// Time limit per task, e.g. 01:00:00.
    #[arg(long)]
    pub time: Option<String>,
    /// Further `#SBATCH` arguments, e.g. --sbatch-arg=--mem=16G (repeatable).
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// Print the script instead of submitting it.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait for every task to end (polling squeue) and check the shards.
    #[arg(long)]
    pub wait: bool,
    /// After --wait, merge the shards into one run folder.
    #[arg(long, requires = "wait")]
    pub merge: bool,
}

/// `infer-bench sim`: the built-in reference server.
#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Parallel slots of the latency model.
    #[arg(long)]
    pub slots: Option<usize>,
    /// Log-normal σ of the latency noise (0 for none).
    #[arg(long)]
    pub jitter: Option<f64>,
    /// Faults to inject, e.g. `error=0.05,rate_limited=0.02,drop=0.02,stall=0.05,stall_ms=500,malformed=0.01,unavailable=0.01,slow_start_s=3`.
    #[arg(long)]
    pub faults: Option<String>,
    /// Require `Authorization: Bearer <key>`, the key read from this
    /// environment variable (never from the command line).
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// Exit (status 3) on the Nth generation request: a server that crashes.
    #[arg(long, value_name = "N")]
    pub exit_after: Option<u64>,
    /// Fixed time to first token, in ms, whatever the prompt; with
    /// --itl-ms, a sim for calibration: no contention, no noise unless
    /// --jitter says, no slot limit unless --slots says.
    #[arg(long, value_name = "MS")]
    pub ttft_ms: Option<f64>,
    /// Fixed gap between tokens, in ms.
    #[arg(long, value_name = "MS")]
    pub itl_ms: Option<f64>,
    /// Log when each event was really sent; `POST /sim/truth` hands the
    /// log over (and empties it).
    #[arg(long)]
    pub record_truth: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    pub experiment: PathBuf,
    /// Results root; the run goes to OUT/<experiment>/<run-id>/.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Extra report formats besides the terminal table, summary.csv,
    /// report.md and report.html: json (summary.json).
    #[arg(long, value_delimiter = ',', default_value = "table")]
    pub format: Vec<infer_bench::report::Format>,
    /// No progress bar or lines.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print summary.json on stdout instead of the table (for scripts).
    #[arg(long)]
    pub json: bool,
    /// Override the experiment's repetitions (a quick look).
    #[arg(long)]
    pub repetitions: Option<u32>,
    /// Override the requests per trial (a quick look).
    #[arg(long)]
    pub requests: Option<u32>,
    /// Exit with code 3 when an `expect:` hypothesis is refuted.
    #[arg(long)]
    pub check: bool,
    /// Finish an interrupted run folder: the trials not yet done, same plan
    /// and seed; refused if the experiment or prompt set changed since.
    #[arg(long, value_name = "RUN")]
    pub resume: Option<PathBuf>,
    /// Run only shard I of N (I from 0): whole repetition blocks, block b
    /// to shard b mod N. `infer-bench merge` joins the shards' folders.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    pub run_a: PathBuf,
    pub run_b: PathBuf,
    /// Exit with code 3 when a significant regression is found.
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Metrics to compare (columns of trials.parquet); all headline metrics when absent.
    #[arg(long, value_delimiter = ',')]
    pub metric: Vec<String>,
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Smallest relative change that gets a verdict (0.02 = 2 %).
    #[arg(long, default_value_t = 0.02)]
    pub threshold: f64,
    /// Equivalence margin δ relative to A's mean (0.05 = ±5 %): TOST
    /// calls B equivalent to A when it shows the difference within it.
    #[arg(long, default_value_t = 0.05)]
    pub equivalence: f64,
    /// Holm's family: `run` (every comparison of every metric: at most
    /// alpha chance of any false verdict) or `metric` (each metric's own).
    #[arg(long, value_enum, default_value = "run")]
    pub family: infer_bench::experiment::Family,
    /// Also write every comparison (Welch and TOST columns) to this CSV file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Compare runs of different experiments.
    #[arg(long)]
    pub force: bool,
    /// Where to write the HTML comparison [default: RUN_B/compare-<A's run id>.html].
    #[arg(long)]
    pub html: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ReproduceArgs {
    /// A run folder (a committed reference needs only its manifest, plan,
    /// experiment copy and trials.parquet), or with --published the
    /// experiment file to run.
    pub run: PathBuf,
    /// A table of published results to reproduce instead of a run:
    /// CSV with columns configuration, metric, mean, and optionally sd and n.
    #[arg(long)]
    pub published: Option<PathBuf>,
    /// Equivalence margin δ relative to the recorded mean [default: the experiment's stats.equivalence].
    #[arg(long)]
    pub equivalence: Option<f64>,
    /// Exit with code 3 when a configuration and metric did not reproduce
    /// (shown different, not merely inconclusive).
    #[arg(long)]
    pub fail_on_difference: bool,
    /// Run again although a dataset or trace the run read has changed
    /// since (each is named with its old and new sha256 as a warning);
    /// without it such a reproduction is refused (exit 2).
    #[arg(long)]
    pub allow_changed: bool,
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[arg(long, short)]
    pub quiet: bool,
}
