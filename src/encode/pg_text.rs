//! PostgreSQL's text `COPY` format, the fallback when a column's type is one barge does not
//! encode itself: the server parses every value.

/// Appends `value` escaped for text COPY: backslash, tab, newline and carriage return are
/// written as `\\`, `\t`, `\n`, `\r`.
pub fn escape_into(value: &[u8], out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, &b) in value.iter().enumerate() {
        let esc = match b {
            b'\\' => b'\\',
            b'\t' => b't',
            b'\n' => b'n',
            b'\r' => b'r',
            _ => continue,
        };
        out.extend_from_slice(&value[start..i]);
        out.push(b'\\');
        out.push(esc);
        start = i + 1;
    }
    out.extend_from_slice(&value[start..]);
}

/// The NULL marker of text COPY.
pub const NULL: &[u8] = b"\\N";

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        let mut out = Vec::new();
        super::escape_into(b"a\\b\tc\nd\re", &mut out);
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re");
    }
}
