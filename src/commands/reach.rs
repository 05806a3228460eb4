//! Whether every `input_tokens` level can be reached, checked before a run
//! where no server is needed to count: the built-in sim's tokenizer is
//! infer-bench's own. Against a real server the same fault is found at the
//! first trial, also as exit 2.

use infer_bench::error::InputError;
use infer_bench::experiment::LoadedExperiment;

pub fn check_input_lengths(l: &LoadedExperiment) -> Result<(), InputError> {
    if l.experiment.target.builtin.is_none() {
        return Ok(());
    }
    infer_bench::experiment::validate::input_lengths(l, infer_bench::sim::tokenizer::count)
}
