//! The texts a load reads as NULL (`--null`, given once or more).
//!
//! PostgreSQL's COPY takes one NULL text. Files joined from several exports, or written by a
//! program that spells a missing value `NULL` but leaves some fields empty, need more than one:
//! with COPY's single text such a file cannot be loaded without rewriting it first.

/// The unquoted field texts that mean NULL.
///
/// By default one: the empty string, as PostgreSQL's CSV COPY reads an unquoted empty field.
/// `--null NULL` makes `NULL` the only one (an empty field is then an empty string, as with
/// COPY's `NULL` option); `--null NULL --null ''` makes both NULL. A quoted field is never
/// NULL: that is for the readers, which say whether a field was quoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NullTexts {
    texts: Vec<Vec<u8>>,
    /// The longest text's length: this runs for every field of a load, and one comparison
    /// with it rules out almost every field (every non-empty one, by default).
    longest: usize,
    /// Bit `n` is set when one of the texts is `n` bytes long (`n` < 64): the fields as short
    /// as the texts (small numbers, with `--null NULL`) are mostly ruled out by it.
    lengths: u64,
}

impl Default for NullTexts {
    fn default() -> Self {
        NullTexts::new([Vec::new()])
    }
}

impl NullTexts {
    /// These texts; the default (the empty string) when there are none.
    pub fn new<T: Into<Vec<u8>>>(texts: impl IntoIterator<Item = T>) -> NullTexts {
        let mut out = NullTexts {
            texts: Vec::new(),
            longest: 0,
            lengths: 0,
        };
        for t in texts {
            let t = t.into();
            if out.texts.contains(&t) {
                continue;
            }
            out.longest = out.longest.max(t.len());
            if let Some(bit) = 1u64.checked_shl(t.len().try_into().unwrap_or(u32::MAX)) {
                out.lengths |= bit;
            }
            out.texts.push(t);
        }
        if out.texts.is_empty() {
            return NullTexts::default();
        }
        out
    }

    /// Whether an unquoted field of these bytes is NULL.
    #[inline]
    pub fn matches(&self, raw: &[u8]) -> bool {
        let n = raw.len();
        if n > self.longest {
            return false;
        }
        if n < 64 && self.lengths & (1 << n) == 0 {
            return false;
        }
        // Comparing two empty slices still calls `memcmp`, which cost 2% of a load's CPU with
        // the default text.
        n == 0 || self.texts.iter().any(|t| t == raw)
    }

    /// The text a reader writes for a NULL it found by other means (a text-format `\N`, a
    /// program's `None`): the first of them, which [`NullTexts::matches`].
    pub fn first(&self) -> &[u8] {
        self.texts.first().map_or(&[], Vec::as_slice)
    }

    /// The texts, in the order given.
    pub fn texts(&self) -> &[Vec<u8>] {
        &self.texts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_text_given_is_null_and_nothing_else() {
        let d = NullTexts::default();
        assert!(d.matches(b"") && !d.matches(b"NULL"));
        let two = NullTexts::new(["NULL", "", "NULL"]);
        assert_eq!(two.texts().len(), 2);
        assert!(two.matches(b"NULL") && two.matches(b"") && !two.matches(b"NUL"));
        assert!(!two.matches(b"NULLX") && !two.matches(b"null"));
        assert_eq!(two.first(), b"NULL");
        let na = NullTexts::new(["NA"]);
        assert!(!na.matches(b"") && na.matches(b"NA"));
        // Lengths past the mask's are compared too.
        let long = "x".repeat(70);
        let l = NullTexts::new([long.as_str(), "-"]);
        assert!(l.matches(long.as_bytes()) && l.matches(b"-"));
        assert!(!l.matches("y".repeat(70).as_bytes()) && !l.matches(&[b'x'; 64]));
        assert!(!na.matches(long.as_bytes()));
        assert_eq!(NullTexts::new(Vec::<Vec<u8>>::new()), d);
    }
}
