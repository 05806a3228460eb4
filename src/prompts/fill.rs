//! Exact input length: pad a prompt with filler words until the target's own
//! tokenizer counts exactly the requested number of tokens.
//!
//! Token counts are not additive across word boundaries (BPE merges), so the
//! search asks the server: a binary search on the number of filler words finds
//! the longest filler that fits, then single-token pads close the gap.

use crate::error::InputError;
use std::future::Future;

/// Counts tokens as the target server does (its `/tokenize` endpoint).
pub trait TokenCounter {
    fn count(&self, text: &str) -> impl Future<Output = anyhow::Result<usize>> + Send;
}

/// A prompt filled to a length, with the length the counter reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    pub text: String,
    pub tokens: usize,
}

/// Padding that is one token on common tokenizers; tried in turn when the
/// filler words overshoot by one.
const PADS: &[&str] = &[" .", ".", " a", "a", "\n"];

/// Build `head + filler + "\n\n" + body` with exactly `target` tokens, or the
/// closest count not above it when no exact fill exists.
pub async fn fill_to<C: TokenCounter>(
    counter: &C,
    head: &str,
    body: &str,
    filler: &[&str],
    target: usize,
) -> anyhow::Result<Filled> {
    let prompt = Parts { head, body, filler };
    if filler.iter().all(|w| w.trim().is_empty()) {
        return Err(InputError::new(
            "the prompt set's filler has no words, expected some text to fill prompts to input_tokens",
        )
        .into());
    }
    let base = counter.count(&prompt.compose(0, "")).await?;
    if base >= target {
        if base != target {
            return Err(InputError::new(format!(
                "the prompt alone is {base} tokens, longer than input_tokens = {target}; \
                 use a shorter template or a larger input_tokens"
            ))
            .into());
        }
        return Ok(Filled {
            text: prompt.compose(0, ""),
            tokens: base,
        });
    }
    let fit = bracket(counter, &prompt, base, target).await?;
    let (words, tokens) = if fit.lo_tokens == target {
        (fit.lo, fit.lo_tokens)
    } else {
        bisect(counter, &prompt, target, fit).await?
    };
    if tokens == target {
        return Ok(Filled {
            text: prompt.compose(words, ""),
            tokens,
        });
    }
    close_gap(counter, &prompt, target, words, tokens).await
}

/// The parts of a filled prompt: the head, the filler words (cycled) and the body.
struct Parts<'a> {
    head: &'a str,
    body: &'a str,
    filler: &'a [&'a str],
}

impl Parts<'_> {
    /// The prompt with `k` filler words, then `pad`.
    fn compose(&self, k: usize, pad: &str) -> String {
        let mut s = String::with_capacity(self.head.len() + self.body.len() + k * 8);
        s.push_str(self.head);
        for (i, w) in self.filler.iter().cycle().take(k).enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(w);
        }
        s.push_str(pad);
        // The blank line parts filler from the question; a pad alone goes
        // without it, so a prompt one or two tokens short can still be
        // closed (the blank line may itself cost two tokens).
        if k > 0 {
            s.push_str("\n\n");
        }
        s.push_str(self.body);
        s
    }
}

/// Word counts either side of the target: `lo` words count `lo_tokens` ≤
/// target; `hi` words count more, unless `lo_tokens` is the target.
struct Bracket {
    lo: usize,
    lo_tokens: usize,
    hi: usize,
}

/// Double the word count from the gap until it overshoots the target.
async fn bracket<C: TokenCounter>(
    counter: &C,
    prompt: &Parts<'_>,
    base: usize,
    target: usize,
) -> anyhow::Result<Bracket> {
    let mut fit = Bracket {
        lo: 0,
        lo_tokens: base,
        hi: (target - base).max(1),
    };
    loop {
        let hi = fit.hi;
        let n = counter.count(&prompt.compose(hi, "")).await?;
        if n > target {
            return Ok(fit);
        }
        // Every filler word adds tokens: a count that does not keep up is a
        // tokenizer that does not count this text (or a server that lies).
        if hi > 4 * target + 64 {
            anyhow::bail!(
                "the server counted {n} tokens in a prompt with {hi} filler words, short of input_tokens = {target}: \
                 its token count stopped growing with the text; check target.tokenize"
            );
        }
        fit.lo = hi;
        fit.lo_tokens = n;
        if n == target {
            return Ok(fit);
        }
        fit.hi *= 2;
    }
}

/// The largest word count whose count is ≤ target, and that count.
async fn bisect<C: TokenCounter>(
    counter: &C,
    prompt: &Parts<'_>,
    target: usize,
    fit: Bracket,
) -> anyhow::Result<(usize, usize)> {
    let Bracket {
        mut lo,
        mut lo_tokens,
        mut hi,
    } = fit;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let n = counter.count(&prompt.compose(mid, "")).await?;
        if n <= target {
            lo = mid;
            lo_tokens = n;
            if n == target {
                break;
            }
        } else {
            hi = mid;
        }
    }
    Ok((lo, lo_tokens))
}

/// Close the remaining gap after `words` filler words (usually 1 token: the
/// next word is two tokens) with single-token pads.
async fn close_gap<C: TokenCounter>(
    counter: &C,
    prompt: &Parts<'_>,
    target: usize,
    words: usize,
    tokens: usize,
) -> anyhow::Result<Filled> {
    let mut best = Filled {
        text: prompt.compose(words, ""),
        tokens,
    };
    let mut pad = String::new();
    for _ in 0..(target - tokens) * 2 + PADS.len() {
        let mut advanced = false;
        for p in PADS {
            let candidate = format!("{pad}{p}");
            let text = prompt.compose(words, &candidate);
            let n = counter.count(&text).await?;
            if n == target {
                return Ok(Filled { text, tokens: n });
            }
            if n < target && n > best.tokens {
                best = Filled { text, tokens: n };
                pad = candidate;
                advanced = true;
                break;
            }
        }
        if !advanced {
            break;
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts words, but long words as two tokens: not additive per word.
    struct Words;

    impl TokenCounter for Words {
        async fn count(&self, text: &str) -> anyhow::Result<usize> {
            Ok(text
                .split_whitespace()
                .map(|w| if w.len() > 6 { 2 } else { 1 })
                .sum())
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn fills_to_exact_counts() {
        let filler = ["alpha", "lighthouses", "sea", "keeper", "stairway", "lamp"];
        for target in [5, 6, 7, 8, 13, 50, 201] {
            let f = block_on(fill_to(&Words, "x1 ", "What is this?", &filler, target)).unwrap();
            assert_eq!(f.tokens, target, "target {target}: {:?}", f.text);
            assert_eq!(block_on(Words.count(&f.text)).unwrap(), target);
            assert!(f.text.starts_with("x1 ") && f.text.ends_with("What is this?"));
        }
    }

    #[test]
    fn too_long_prompt_is_an_error() {
        let err = block_on(fill_to(&Words, "", "one two three four", &["a"], 2)).unwrap_err();
        assert!(err.to_string().contains("longer than input_tokens = 2"));
        assert!(err.is::<InputError>(), "a fault of the input: exit 2");
    }

    /// A tokenizer whose count never grows.
    struct Stuck;

    impl TokenCounter for Stuck {
        async fn count(&self, _: &str) -> anyhow::Result<usize> {
            Ok(3)
        }
    }

    #[test]
    fn a_count_that_stops_growing_or_an_empty_filler_gives_up() {
        let err = block_on(fill_to(&Stuck, "", "q", &["word"], 100)).unwrap_err();
        assert!(err.to_string().contains("stopped growing"), "{err}");
        let err = block_on(fill_to(&Words, "", "q", &[], 100)).unwrap_err();
        assert!(err.to_string().contains("filler has no words"), "{err}");
        let err = block_on(fill_to(&Words, "", "q", &["", " "], 100)).unwrap_err();
        assert!(err.is::<InputError>());
    }
}
