//! The reference server's tokenizer: deterministic and cheap, shaped like a
//! real one in the ways that matter to filling (not additive across words).
//!
//! A token is a run of up to 8 letters or digits with at most one leading
//! space, or any other single character.

pub fn tokenize(text: &str) -> Vec<u32> {
    pieces(text).map(id).collect()
}

pub fn count(text: &str) -> usize {
    pieces(text).count()
}

fn id(piece: &str) -> u32 {
    // FNV-1a folded into a 32k vocabulary.
    let mut h: u32 = 0x811c_9dc5;
    for b in piece.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % 32_000
}

fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let word_start = if c == ' ' && chars.get(i + 1).is_some_and(|(_, n)| n.is_alphanumeric()) {
            i + 1
        } else if c.is_alphanumeric() {
            i
        } else {
            let end = chars.get(i + 1).map_or(text.len(), |(e, _)| *e);
            out.push(&text[start..end]);
            i += 1;
            continue;
        };
        let mut j = word_start;
        while j < chars.len() && chars[j].1.is_alphanumeric() && j - word_start < 8 {
            j += 1;
        }
        let end = chars.get(j).map_or(text.len(), |(e, _)| *e);
        out.push(&text[start..end]);
        i = j;
    }
    out.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_punctuation_and_long_words() {
        let p: Vec<&str> = pieces("Hello, world!\n lighthouses").collect();
        assert_eq!(
            p,
            vec!["Hello", ",", " world", "!", "\n", " lighthou", "ses"]
        );
        assert_eq!(count("a b"), 2);
        assert_eq!(count("  a"), 2);
        assert_eq!(tokenize("same"), tokenize("same"));
    }
}
