//! Prompt sets, template rendering, exact-length filling and cache-busting.

mod fill;
mod set;
pub mod template;

pub use fill::{fill_to, TokenCounter};
pub use set::{load, PromptSet};

/// A short prefix unique to one request, so a server's prefix cache can match
/// at most a token or two of it and every request pays its full prefill.
pub fn cache_buster(seed: u64, trial: usize, request: usize) -> String {
    // SplitMix64 of the three: cheap, seeded and well spread.
    let mut z = seed
        ^ (trial as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (request as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    format!("[{:08x}] ", z as u32)
}
