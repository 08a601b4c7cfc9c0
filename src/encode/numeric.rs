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
    if text.eq_ignore_ascii_case(b"nan") {
        write(out, &[], 0, NUMERIC_NAN, 0);
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
    // Decimal digits (values 0..=9), integer part without leading zeros.
    let first_nonzero = int_part
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(int_part.len());
    let mut int_digits: Vec<u8> = int_part[first_nonzero..].iter().map(|d| d - b'0').collect();
    let mut frac_digits: Vec<u8> = frac_part.iter().map(|d| d - b'0').collect();
    let mut dscale = frac_digits.len();

    if let Some((precision, scale)) = typmod {
        if scale < 0 {
            // Negative scales (PostgreSQL 15+) round left of the point: the server applies
            // the type modifier on receipt, so send the value as written.
        } else {
            let scale = scale as usize;
            if frac_digits.len() > scale {
                let round_up = frac_digits[scale] >= 5;
                frac_digits.truncate(scale);
                if round_up && !increment(&mut int_digits, &mut frac_digits) {
                    int_digits.insert(0, 1);
                }
            }
            dscale = scale;
            let max_int = precision as usize - scale.min(precision as usize);
            let is_zero = int_digits.iter().all(|&d| d == 0) && frac_digits.iter().all(|&d| d == 0);
            if !is_zero && int_digits.len() > max_int {
                return Outcome::Reject(format!(
                    "numeric field overflow: a field with precision {precision}, scale {scale} \
                     must round to an absolute value less than 10^{max_int}"
                ));
            }
        }
    }

    // Group into base-10000 digits: pad the integer part on the left and the fraction on the
    // right to multiples of four.
    let int_pad = (4 - int_digits.len() % 4) % 4;
    let frac_pad = (4 - frac_digits.len() % 4) % 4;
    let mut all = Vec::with_capacity(int_pad + int_digits.len() + frac_digits.len() + frac_pad);
    all.extend(std::iter::repeat_n(0u8, int_pad));
    all.extend_from_slice(&int_digits);
    all.extend_from_slice(&frac_digits);
    all.extend(std::iter::repeat_n(0u8, frac_pad));
    let mut groups: Vec<i16> = all
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |acc, &d| acc * 10 + d as i16))
        .collect();
    let mut weight = ((int_pad + int_digits.len()) / 4) as i32 - 1;
    let lead = groups.iter().position(|&g| g != 0).unwrap_or(groups.len());
    groups.drain(..lead);
    weight -= lead as i32;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    let sign = if groups.is_empty() {
        weight = 0;
        NUMERIC_POS
    } else if negative {
        NUMERIC_NEG
    } else {
        NUMERIC_POS
    };
    write(out, &groups, weight as i16, sign, dscale as u16);
    Outcome::Done
}

/// Adds one unit in the last place of `int.frac`; false when the carry runs off the left.
fn increment(int: &mut [u8], frac: &mut [u8]) -> bool {
    for d in frac.iter_mut().rev().chain(int.iter_mut().rev()) {
        if *d == 9 {
            *d = 0;
        } else {
            *d += 1;
            return true;
        }
    }
    false
}

fn write(out: &mut Vec<u8>, digits: &[i16], weight: i16, sign: u16, dscale: u16) {
    let len = 8 + 2 * digits.len();
    out.extend_from_slice(&(len as i32).to_be_bytes());
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
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
}
