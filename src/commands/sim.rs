//! `infer-bench sim`: the built-in reference server on a port, its latency
//! model and faults from the command line.

use crate::cli::SimArgs;
use infer_bench::error::InputError;
use infer_bench::sim::{self, Faults, SimModel};

pub fn serve(args: &SimArgs) -> anyhow::Result<()> {
    let api_key = match &args.api_key_env {
        Some(var) => Some(
            std::env::var(var)
                .map_err(|_| InputError::new(format!("--api-key-env: {var} is not set")))?,
        ),
        None => None,
    };
    let mut model = match (args.ttft_ms, args.itl_ms) {
        (None, None) => SimModel::default(),
        (ttft, itl) => SimModel::fixed(
            ttft.unwrap_or(SimModel::default().ttft_base_ms),
            itl.unwrap_or(SimModel::default().decode_ms_per_token),
        ),
    };
    if let Some(spec) = &args.faults {
        model.faults =
            Faults::parse(spec).map_err(|m| InputError::new(format!("--faults: {m}")))?;
    }
    if let Some(s) = args.slots {
        model.slots = s;
    }
    if let Some(j) = args.jitter {
        model.jitter = j;
    }
    model.check().map_err(InputError::new)?;
    let (host, port) = (&args.host, args.port);
    let addr = format!("{host}:{port}")
        .parse()
        .map_err(|e| InputError::new(format!("invalid address {host}:{port}: {e}")))?;
    let options = sim::SimOptions {
        api_key,
        exit_after: args.exit_after,
        record_truth: args.record_truth,
    };
    super::runtime()?.block_on(sim::serve(model, addr, options))?;
    Ok(())
}
