//! `numeric` in PostgreSQL's binary format: base-10000 digits with a weight, a sign and a
//! display scale.
//!
//! Written by hand because no well-kept crate encodes *from text* with PostgreSQL's rounding
//! and precision rules (`rust_decimal` caps at 28 digits; PostgreSQL allows 131,072).

use super::Outcome;

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;

/// Longest integer or fraction part handled on the client; longer values go to the server.
const MAX_CLIENT_DIGITS: usize = 1000;

/// Encodes a numeric value from its text, applying `numeric(precision, scale)` the way
/// PostgreSQL does: round half away from zero to `scale` digits, then fail when more than
/// `precision - scale` integer digits remain.
///
/// Exponents (`1e5`), `Infinity` and other rare forms are deferred to the server.
pub fn encode(raw: &[u8], typmod: Option<(u16, i16)>, out: &mut Vec<u8>) -> Outcome {
    let text = super::trim_ascii(raw);
    if encode_short(text, typmod, out) {
        return Outcome::Done;
    }
    encode_any(text, typmod, out)
}

/// [`encode`] for the values most columns hold: at most 18 integer and 16 fraction digits,
/// nothing to round. They are read into two integers and cut into base-10000 groups by
/// arithmetic, without [`encode_any`]'s buffer of digits, which cost about 450 instructions a
/// value (a tenth of a narrow row's client CPU for one `numeric(6,2)` column). `false`: not
/// such a value, nothing written.
fn encode_short(text: &[u8], typmod: Option<(u16, i16)>, out: &mut Vec<u8>) -> bool {
    let (negative, body) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mut int_v, mut frac_v) = (0u64, 0u64);
    // Integer digits after any leading zeros, fraction digits, whether the point was seen.
    let (mut int_sig, mut frac_len, mut dot, mut any) = (0usize, 0usize, false, false);
    for &b in body {
        match b {
            b'0'..=b'9' if dot => {
                frac_v = frac_v * 10 + u64::from(b - b'0');
                frac_len += 1;
            }
            b'0'..=b'9' => {
                int_v = int_v * 10 + u64::from(b - b'0');
                int_sig += usize::from(int_v != 0);
            }
            b'.' if !dot => dot = true,
            _ => return false,
        }
        any |= b != b'.';
        if int_sig > 18 || frac_len > 16 {
            return false;
        }
    }
    if !any {
        return false;
    }
    let dscale = match typmod {
        None => frac_len,
        Some((precision, scale)) => {
            // Rounding, a negative scale and overflow are the general path's.
            let Ok(scale) = usize::try_from(scale) else {
                return false;
            };
            if frac_len > scale || int_sig > usize::from(precision).saturating_sub(scale) {
                return false;
            }
            scale
        }
    };
    // Base-10000 groups, least significant first: the fraction padded on the right to whole
    // groups (at most 16 digits: below 10^16, no overflow), then the integer part.
    let pad = (4 - frac_len % 4) % 4;
    let frac_groups = (frac_len + pad) / 4;
    let mut frac_scaled = frac_v * 10u64.pow(pad as u32);
    let mut groups = [0i16; 9];
    let mut n = 0;
    for _ in 0..frac_groups {
        groups[n] = (frac_scaled % 10_000) as i16;
        frac_scaled /= 10_000;
        n += 1;
    }
    while int_v > 0 {
        groups[n] = (int_v % 10_000) as i16;
        int_v /= 10_000;
        n += 1;
    }
    let groups = &groups[..n];
    let (Some(lo), Some(top)) = (
        groups.iter().position(|&g| g != 0),
        groups.iter().rposition(|&g| g != 0),
    ) else {
        write(out, std::iter::empty(), 0, 0, NUMERIC_POS, dscale as u16);
        return true;
    };
    let weight = top as i16 - frac_groups as i16;
    let sign = if negative { NUMERIC_NEG } else { NUMERIC_POS };
    write(
        out,
        groups[lo..=top].iter().rev().copied(),
        top + 1 - lo,
        weight,
        sign,
        dscale as u16,
    );
    true
}

/// [`encode`] for any value, of any length (trimmed: `text`).
fn encode_any(text: &[u8], typmod: Option<(u16, i16)>, out: &mut Vec<u8>) -> Outcome {
    if text.eq_ignore_ascii_case(b"nan") {
        write(out, std::iter::empty(), 0, 0, NUMERIC_NAN, 0);
        return Outcome::Done;
    }
    let (negative, body) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (int_part, frac_part) = match memchr::memchr(b'.', body) {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, &b""[..]),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.iter().all(u8::is_ascii_digit)
        || !frac_part.iter().all(u8::is_ascii_digit)
        || int_part.len() > MAX_CLIENT_DIGITS
        || frac_part.len() > MAX_CLIENT_DIGITS
    {
        return Outcome::Defer;
    }
    // One buffer of decimal digits (values 0..=9): a slot for a carry out of rounding, the
    // integer part without leading zeros, the fraction. It lives on the stack unless the value
    // is long: one allocation per value was a fifth of this function's cost.
    let leading_zeros = int_part.iter().take_while(|&&b| b == b'0').count();
    let int_part = &int_part[leading_zeros..];
    let n = 1 + int_part.len() + frac_part.len();
    let mut stack = [0u8; 64];
    let mut heap = Vec::new();
    let digits: &mut [u8] = if n <= stack.len() {
        &mut stack[..n]
    } else {
        heap.resize(n, 0);
        &mut heap
    };
    for (d, b) in digits[1..].iter_mut().zip(int_part.iter().chain(frac_part)) {
        *d = b - b'0';
    }
    let int_len = 1 + int_part.len();
    let mut frac_len = frac_part.len();
    let mut dscale = frac_len;

    if let Some((precision, scale)) = typmod {
        if scale < 0 {
            // Negative scales (PostgreSQL 15+) round left of the point: the server applies
            // the type modifier on receipt, so send the value as written.
        } else {
            let scale = scale as usize;
            if frac_len > scale {
                let round_up = digits[int_len + scale] >= 5;
                frac_len = scale;
                if round_up {
                    // The carry slot is 0, so a carry always stops there.
                    increment(&mut digits[..int_len + frac_len]);
                }
            }
            dscale = scale;
            let max_int = precision as usize - scale.min(precision as usize);
            let int_digits = digits[..int_len].iter().skip_while(|&&d| d == 0).count();
            if int_digits > max_int {
                return Outcome::Reject(format!(
                    "numeric field overflow: a field with precision {precision}, scale {scale} \
                     must round to an absolute value less than 10^{max_int}"
                ));
            }
        }
    }

    // Base-10000 digits are aligned on the decimal point: pad the integer part on the left to
    // a multiple of four, then group digit k (counting the padding) into group k / 4. Only the
    // groups from the first to the last non-zero digit are sent.
    let digits = &digits[..int_len + frac_len];
    let int_pad = (4 - int_len % 4) % 4;
    let int_groups = (int_pad + int_len) / 4;
    let nonzero = |d: &u8| *d != 0;
    let (Some(first), Some(last)) = (
        digits.iter().position(nonzero),
        digits.iter().rposition(nonzero),
    ) else {
        write(out, std::iter::empty(), 0, 0, NUMERIC_POS, dscale as u16);
        return Outcome::Done;
    };
    let (lo, hi) = ((first + int_pad) / 4, (last + int_pad) / 4 + 1);
    let group = |g: usize| {
        (4 * g..4 * g + 4).fold(0i16, |acc, k| {
            let d = k
                .checked_sub(int_pad)
                .and_then(|i| digits.get(i))
                .copied()
                .unwrap_or(0);
            acc * 10 + i16::from(d)
        })
    };
    let weight = int_groups as i32 - 1 - lo as i32;
    let sign = if negative { NUMERIC_NEG } else { NUMERIC_POS };
    write(
        out,
        (lo..hi).map(group),
        hi - lo,
        weight as i16,
        sign,
        dscale as u16,
    );
    Outcome::Done
}

/// Adds one unit in the last place of `digits`, carrying to the left.
fn increment(digits: &mut [u8]) {
    for d in digits.iter_mut().rev() {
        if *d == 9 {
            *d = 0;
        } else {
            *d += 1;
            return;
        }
    }
}

fn write(
    out: &mut Vec<u8>,
    digits: impl Iterator<Item = i16>,
    ndigits: usize,
    weight: i16,
    sign: u16,
    dscale: u16,
) {
    let len = 8 + 2 * ndigits;
    out.extend_from_slice(&(len as i32).to_be_bytes());
    out.extend_from_slice(&(ndigits as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str, typmod: Option<(u16, i16)>) -> (Vec<i16>, i16, u16, u16) {
        let mut out = Vec::new();
        assert!(
            matches!(encode(s.as_bytes(), typmod, &mut out), Outcome::Done),
            "{s}"
        );
        let rd = |i: usize| i16::from_be_bytes([out[i], out[i + 1]]);
        let n = rd(4) as usize;
        let digits = (0..n).map(|k| rd(12 + 2 * k)).collect();
        (digits, rd(6), rd(8) as u16, rd(10) as u16)
    }

    #[test]
    fn groups_and_weight() {
        assert_eq!(enc("12345.678", None), (vec![1, 2345, 6780], 1, 0, 3));
        assert_eq!(enc("-0.0001", None), (vec![1], -1, 0x4000, 4));
        assert_eq!(enc("0", None), (vec![], 0, 0, 0));
        assert_eq!(enc("-0.00", None), (vec![], 0, 0, 2));
        assert_eq!(enc("10000", None), (vec![1], 1, 0, 0));
        assert_eq!(enc(" 007.50 ", None), (vec![7, 5000], 0, 0, 2));
        assert_eq!(enc(".5", None), (vec![5000], -1, 0, 1));
        assert_eq!(enc("NaN", None), (vec![], 0, 0xC000, 0));
    }

    #[test]
    fn typmod_rounds_half_away_from_zero() {
        assert_eq!(enc("1.005", Some((12, 2))), (vec![1, 100], 0, 0, 2));
        assert_eq!(enc("-9.995", Some((5, 2))), (vec![10], 0, 0x4000, 2));
        assert_eq!(enc("1.004", Some((12, 2))), (vec![1], 0, 0, 2));
        let mut out = Vec::new();
        assert!(matches!(
            encode(b"9.995", Some((3, 2)), &mut out),
            Outcome::Reject(_)
        ));
        assert!(matches!(encode(b"1e5", None, &mut out), Outcome::Defer));
        assert!(matches!(encode(b"abc", None, &mut out), Outcome::Defer));
        assert!(matches!(encode(b"", None, &mut out), Outcome::Defer));
    }

    /// The value the groups stand for, as decimal text without a sign: a reference that
    /// shares nothing with the encoder's alignment arithmetic.
    fn decimal_of(groups: &[i16], weight: i16, dscale: u16) -> String {
        let mut int = String::new();
        let mut frac = String::new();
        for (k, g) in groups.iter().enumerate() {
            let w = i32::from(weight) - k as i32;
            let four = format!("{g:04}");
            if w >= 0 {
                int.push_str(&four);
                int.push_str(&"0000".repeat(if k + 1 == groups.len() { w as usize } else { 0 }));
            } else {
                if frac.is_empty() {
                    frac.push_str(&"0000".repeat((-w - 1) as usize));
                }
                frac.push_str(&four);
            }
        }
        let int = int.trim_start_matches('0');
        frac.truncate(frac.len().min(dscale as usize));
        while frac.len() < dscale as usize {
            frac.push('0');
        }
        format!("{}.{frac}", if int.is_empty() { "0" } else { int })
    }

    proptest::proptest! {
        /// Values of every length, on the stack and past it, read back as the digits written
        /// (leading zeros of the integer part dropped, the fraction kept to its scale).
        #[test]
        fn groups_read_back_as_the_digits(int in "[0-9]{0,90}", frac in "[0-9]{0,90}") {
            proptest::prop_assume!(!(int.is_empty() && frac.is_empty()));
            let (groups, weight, _, dscale) = enc(&format!("{int}.{frac}"), None);
            let int = int.trim_start_matches('0');
            let expected = format!("{}.{frac}", if int.is_empty() { "0" } else { int });
            proptest::prop_assert_eq!(decimal_of(&groups, weight, dscale), expected);
        }
    }

    proptest::proptest! {
        /// The short path writes what the general one writes, or leaves the value to it.
        #[test]
        fn short_values_encode_as_the_general_path_does(
            text in "[ +-]?[0-9]{0,20}(\\.[0-9]{0,18})?[ ]?",
            typmod in proptest::option::of((1u16..40, -3i16..20)),
        ) {
            let mut fast = Vec::new();
            let short = encode_short(text.trim().as_bytes(), typmod, &mut fast);
            let mut general = Vec::new();
            let outcome = encode_any(text.trim().as_bytes(), typmod, &mut general);
            if short {
                proptest::prop_assert_eq!(outcome, Outcome::Done);
                proptest::prop_assert_eq!(fast, general, "{:?} {:?}", text, typmod);
            } else {
                proptest::prop_assert!(fast.is_empty());
            }
        }
    }

    #[test]
    fn long_values_round_and_carry_like_short_ones() {
        let nines = "9".repeat(70);
        let (groups, weight, _, dscale) = enc(&format!("{nines}.995"), Some((80, 2)));
        assert_eq!(
            decimal_of(&groups, weight, dscale),
            format!("1{}.00", "0".repeat(70))
        );
        let mut out = Vec::new();
        assert!(matches!(
            encode(format!("{nines}.995").as_bytes(), Some((72, 2)), &mut out),
            Outcome::Reject(_)
        ));
    }
}
