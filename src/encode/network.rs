//! PostgreSQL's network address types in their binary form: `inet` and `cidr` (family, mask
//! bits, whether it is a `cidr`, address length, address bytes: `inet_send`'s layout), and
//! `macaddr`/`macaddr8` (the 6 or 8 bytes).
//!
//! The client reads the forms the standard library parses (a dotted quad, any IPv6 text), each
//! with an optional `/bits`; the server's input also reads older, abbreviated IPv4 forms
//! (`10.1/16`), and gives a `cidr` without bits a class-based mask. Of MAC addresses it reads
//! the two-digit groups separated by `:` or `-`, and the bare hex digits, which is what
//! exports hold; the server also reads one-digit groups, dotted and half-split forms. Those,
//! and anything else, are left to the server, whose input is the oracle.

use std::net::IpAddr;

use super::Outcome;

/// The address families as PostgreSQL numbers them on the wire (`PGSQL_AF_INET`,
/// `PGSQL_AF_INET6`), not as the operating system does.
const FAMILY_V4: u8 = 2;
const FAMILY_V6: u8 = 3;

/// Appends `inet` (`cidr` false) or `cidr` read from `raw`.
pub fn encode(raw: &[u8], cidr: bool, out: &mut Vec<u8>) -> Outcome {
    let Ok(text) = std::str::from_utf8(raw) else {
        return Outcome::Defer;
    };
    let (addr, bits) = match text.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits)),
        None => (text, None),
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return Outcome::Defer;
    };
    let mut octets = [0u8; 16];
    let family = match addr {
        IpAddr::V4(a) => {
            octets[..4].copy_from_slice(&a.octets());
            FAMILY_V4
        }
        IpAddr::V6(a) => {
            octets = a.octets();
            FAMILY_V6
        }
    };
    let bytes = &octets[..if family == FAMILY_V4 { 4 } else { 16 }];
    let max = 8 * bytes.len();
    let bits = match bits {
        // A cidr without bits takes a class-based mask: the server's rules.
        None if cidr => return Outcome::Defer,
        None => max,
        Some(b) => match plain_number(b) {
            Some(b) if b <= max => b,
            // Out of range or not a number: the server's message says which.
            _ => return Outcome::Defer,
        },
    };
    // A cidr's bits right of its mask must be zero; the server names the value that has some.
    if cidr && has_host_bits(bytes, bits) {
        return Outcome::Defer;
    }
    out.extend_from_slice(&(4 + bytes.len() as i32).to_be_bytes());
    out.extend_from_slice(&[family, bits as u8, u8::from(cidr), bytes.len() as u8]);
    out.extend_from_slice(bytes);
    Outcome::Done
}

/// Appends a `macaddr` (`eight` false: 6 bytes) or `macaddr8` (8 bytes; a 6-byte address
/// becomes its modified EUI-64 form with `FF:FE` in the middle, as the server makes it) read
/// from `raw`.
pub fn encode_mac(raw: &[u8], eight: bool, out: &mut Vec<u8>) -> Outcome {
    let mut bytes = [0u8; 8];
    let n = match mac_bytes(raw, &mut bytes) {
        Some(8) if eight => 8,
        Some(6) if eight => {
            bytes.copy_within(3..6, 5);
            bytes[3] = 0xff;
            bytes[4] = 0xfe;
            8
        }
        Some(6) => 6,
        // Too long for a macaddr, or a form the client does not read: the server's message.
        _ => return Outcome::Defer,
    };
    out.extend_from_slice(&(n as i32).to_be_bytes());
    out.extend_from_slice(&bytes[..n]);
    Outcome::Done
}

/// The bytes of a MAC address written as two-digit hex groups all separated by `:` or all by
/// `-`, or as bare hex digits; 6 or 8 of them, into `bytes`. Their count, or `None`.
fn mac_bytes(raw: &[u8], bytes: &mut [u8; 8]) -> Option<usize> {
    let sep = raw.get(2).copied().filter(|&b| b == b':' || b == b'-');
    let (stride, n) = match sep {
        Some(_) if (raw.len() + 1).is_multiple_of(3) => (3, (raw.len() + 1) / 3),
        None if raw.len().is_multiple_of(2) => (2, raw.len() / 2),
        _ => return None,
    };
    if n != 6 && n != 8 {
        return None;
    }
    for (i, byte) in bytes.iter_mut().take(n).enumerate() {
        let at = i * stride;
        if let Some(sep) = sep {
            if i > 0 && raw[at - 1] != sep {
                return None;
            }
        }
        let hex = |b: u8| (b as char).to_digit(16);
        *byte = (hex(raw[at])? * 16 + hex(raw[at + 1])?) as u8;
    }
    Some(n)
}

/// Decimal digits without a sign or a leading zero (but `0`), as a mask length is written.
fn plain_number(s: &str) -> Option<usize> {
    let ok = !s.is_empty()
        && s.len() <= 3
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    ok.then(|| s.parse().ok()).flatten()
}

/// Whether any bit of `bytes` after the first `bits` is set.
fn has_host_bits(bytes: &[u8], bits: usize) -> bool {
    bytes.iter().enumerate().any(|(i, &b)| {
        let kept = bits.saturating_sub(8 * i).min(8);
        let host_mask = if kept == 8 { 0 } else { 0xffu8 >> kept };
        b & host_mask != 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(raw: &str, cidr: bool) -> (Outcome, Vec<u8>) {
        let mut out = Vec::new();
        let o = encode(raw.as_bytes(), cidr, &mut out);
        (o, out)
    }

    #[test]
    fn addresses_in_inet_send_layout() {
        assert_eq!(
            enc("192.168.0.1/24", false),
            (Outcome::Done, vec![0, 0, 0, 8, 2, 24, 0, 4, 192, 168, 0, 1])
        );
        assert_eq!(
            enc("10.0.0.0/8", true),
            (Outcome::Done, vec![0, 0, 0, 8, 2, 8, 1, 4, 10, 0, 0, 0])
        );
        let (o, b) = enc("::1", false);
        assert_eq!(o, Outcome::Done);
        assert_eq!(&b[..8], &[0, 0, 0, 20, 3, 128, 0, 16]);
        assert_eq!(b[8..], std::net::Ipv6Addr::LOCALHOST.octets());
        let (o, b) = enc("::ffff:1.2.3.4/120", false);
        assert_eq!(o, Outcome::Done);
        assert_eq!(b[5], 120);
        assert_eq!(enc("0.0.0.0/0", true).0, Outcome::Done);
    }

    #[test]
    fn other_forms_and_bad_values_are_the_servers() {
        for (raw, cidr) in [
            ("10.1/16", true),
            ("10.0.0.0", true),
            ("10.0.0.1/8", true),
            ("10.0.0.1/33", false),
            ("10.0.0.1/+8", false),
            ("10.0.0.1/08", false),
            ("10.0.0.1/", false),
            (" 10.0.0.1", false),
            ("010.0.0.1", false),
            ("fe80::1%eth0", false),
            ("::1/129", false),
            ("", false),
            ("x", false),
        ] {
            assert_eq!(enc(raw, cidr).0, Outcome::Defer, "{raw}");
        }
    }

    fn mac(raw: &str, eight: bool) -> (Outcome, Vec<u8>) {
        let mut out = Vec::new();
        let o = encode_mac(raw.as_bytes(), eight, &mut out);
        (o, out)
    }

    #[test]
    fn mac_addresses_in_macaddr_send_layout() {
        let six = vec![0, 0, 0, 6, 0x08, 0x00, 0x2b, 0x01, 0x02, 0x0a];
        for raw in ["08:00:2b:01:02:0a", "08-00-2B-01-02-0A", "08002b01020A"] {
            assert_eq!(mac(raw, false), (Outcome::Done, six.clone()), "{raw}");
        }
        let eui = vec![0, 0, 0, 8, 0x08, 0x00, 0x2b, 0xff, 0xfe, 0x01, 0x02, 0x0a];
        assert_eq!(mac("08:00:2b:01:02:0a", true), (Outcome::Done, eui));
        let eight = vec![0, 0, 0, 8, 0x08, 0x00, 0x2b, 0x01, 0x02, 0x03, 0x04, 0x05];
        for raw in [
            "08:00:2b:01:02:03:04:05",
            "08-00-2b-01-02-03-04-05",
            "08002b0102030405",
        ] {
            assert_eq!(mac(raw, true), (Outcome::Done, eight.clone()), "{raw}");
        }
    }

    #[test]
    fn other_mac_forms_and_bad_values_are_the_servers() {
        for (raw, eight) in [
            ("08:00:2b:01:02:03:04:05", false),
            ("08:00:2b:01:02", false),
            ("08:00:2b-01:02:03", false),
            ("8:0:2b:1:2:3", false),
            ("0800.2b01.0203", false),
            ("08002b:010203", false),
            ("08002b-010203", false),
            ("08:00:2b:01:02:0g", false),
            ("08:00:2b:01:02:03 ", false),
            (" 08:00:2b:01:02:03", false),
            ("+8:00:2b:01:02:03", false),
            ("08002b01020", false),
            ("", false),
            ("08:00:2b:01:02:03:04", true),
            ("0800.2b01.0203.0405", true),
        ] {
            assert_eq!(mac(raw, eight).0, Outcome::Defer, "{raw}");
        }
    }

    #[test]
    fn host_bits() {
        assert!(!has_host_bits(&[10, 0, 0, 0], 8));
        assert!(has_host_bits(&[10, 0, 0, 1], 8));
        assert!(has_host_bits(&[10, 128, 0, 0], 8));
        assert!(!has_host_bits(&[10, 128, 0, 0], 9));
        assert!(!has_host_bits(&[255, 255, 255, 255], 32));
        assert!(has_host_bits(&[1, 0, 0, 0], 0));
    }
}
