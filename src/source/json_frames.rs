//! Where each JSON value of an input begins and ends.
//!
//! Three shapes of "JSON rows" reach barge: one object per line (NDJSON), objects written over
//! several lines one after another (what `jq .` prints), and one array of objects (what
//! `json.dump` of a list, pandas' `to_json(orient="records")` and most APIs write). The last two
//! are one document, or many over many lines, that a parser would read whole; here each value
//! is cut out of the byte stream by counting brackets outside strings, so that the rows stream
//! in bounded memory and each has a byte position that a resumed load or a `--split` share
//! seeks to, as a line's is. serde_json then parses each value alone. (serde_json's
//! `StreamDeserializer` reads whitespace-separated values but no array's elements, and says
//! where a value ends, not where the next begins, which is what a resumed load seeks to.)

use std::io::BufRead;

/// How the values follow one another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// One value per line: NDJSON.
    Lines,
    /// Values one after another, each over as many lines as it likes.
    Values,
    /// The elements of one array that holds the whole input.
    Array,
}

impl Framing {
    /// The framing of an input whose first bytes are `head`: an array when it starts with `[`,
    /// values over several lines when its first object does not end on its first line, else
    /// lines.
    pub fn of(head: &[u8]) -> Framing {
        let head = head.strip_prefix(BOM).unwrap_or(head);
        let Some(start) = head.iter().position(|b| !b.is_ascii_whitespace()) else {
            return Framing::Lines;
        };
        let rest = &head[start..];
        match (rest[0], memchr::memchr(b'\n', rest)) {
            (b'[', _) => Framing::Array,
            // The object goes on past its first line. (A first line longer than `head` is
            // one object of NDJSON as far as anyone can tell.)
            (b'{', Some(end)) => {
                match serde_json::from_slice::<serde::de::IgnoredAny>(&rest[..end]) {
                    Err(e) if e.is_eof() => Framing::Values,
                    _ => Framing::Lines,
                }
            }
            _ => Framing::Lines,
        }
    }

    /// How the framing is named in messages (`-v`, errors).
    pub fn describe(self) -> &'static str {
        match self {
            Framing::Lines => "one JSON object per line",
            Framing::Values => "JSON objects over several lines",
            Framing::Array => "a JSON array of objects",
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Where a value was found: its first byte and line, and the bytes from there to where the
/// next value begins (what a resumed load that seeks past it skips).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    pub byte: u64,
    pub line: u64,
    pub len: u64,
}

/// Where in the stream the cutter stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before an array's `[` (an input read from its first byte).
    Open,
    /// Before a value (or, in an array, a `,` or its `]`).
    Value,
    /// After an array's `]`: only whitespace may follow.
    Closed,
}

/// Cuts a stream of bytes into JSON values (see the module's comment).
pub struct Frames {
    framing: Framing,
    state: State,
    consumed: u64,
    line: u64,
}

/// A stream that is no JSON of its framing: the message, and the byte and line it is about.
#[derive(Debug)]
pub enum FrameError {
    Io(std::io::Error),
    Shape {
        byte: u64,
        line: u64,
        message: String,
    },
}

impl From<std::io::Error> for FrameError {
    fn from(e: std::io::Error) -> Self {
        FrameError::Io(e)
    }
}

impl Frames {
    /// A cutter at the input's first byte.
    pub fn new(framing: Framing) -> Frames {
        Frames {
            framing,
            state: match framing {
                Framing::Array => State::Open,
                _ => State::Value,
            },
            consumed: 0,
            line: 1,
        }
    }

    /// A cutter at `byte` (on `line`), where a value begins: a resumed load's first row.
    pub fn starting_at(framing: Framing, byte: u64, line: u64) -> Frames {
        let mut frames = Frames::new(framing);
        if byte > 0 {
            frames.state = State::Value;
        }
        frames.consumed = byte;
        frames.line = line;
        frames
    }

    /// The bytes read so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The line the next byte is on.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Cuts the next value into `out` (cleared first), or `None` at the end of the input. In
    /// lines, `out` is the line as it stands (blank ones too); otherwise the value with the
    /// whitespace between its tokens left out, so that it is one line of a rejects file.
    ///
    /// # Errors
    /// An I/O error, or an input that is not of its framing: an array not closed, a value
    /// not ended (a file cut short), anything but another array after the array.
    pub fn next<R: BufRead>(
        &mut self,
        rdr: &mut R,
        out: &mut Vec<u8>,
    ) -> Result<Option<Frame>, FrameError> {
        out.clear();
        if self.framing == Framing::Lines {
            let byte = self.consumed;
            let line = self.line;
            let n = rdr.read_until(b'\n', out)? as u64;
            if n == 0 {
                return Ok(None);
            }
            self.consumed += n;
            self.line += 1;
            return Ok(Some(Frame { byte, line, len: n }));
        }
        loop {
            if self.state == State::Open {
                self.skip_bom(rdr)?;
            }
            let next = self.skip_whitespace(rdr)?;
            match (self.state, next) {
                (State::Open, Some(b'[')) => {
                    self.take(rdr, 1);
                    self.state = State::Value;
                }
                (State::Open, _) => return Err(self.shape("expected a JSON array, '['")),
                (State::Value, None) if self.framing == Framing::Values => return Ok(None),
                (State::Closed, None) => return Ok(None),
                // Arrays one after another (pages of an API's answers appended).
                (State::Closed, Some(b'[')) => {
                    self.take(rdr, 1);
                    self.state = State::Value;
                }
                (State::Closed, Some(_)) => {
                    return Err(self.shape("more data after the array's closing ']'"))
                }
                (State::Value, None) => {
                    return Err(self.shape("the array ends without its closing ']'"))
                }
                (State::Value, Some(b']')) if self.framing == Framing::Array => {
                    self.take(rdr, 1);
                    self.state = State::Closed;
                }
                // A comma too many, or none between two elements: no element is lost by
                // reading on (each is parsed alone, strictly).
                (State::Value, Some(b',')) if self.framing == Framing::Array => self.take(rdr, 1),
                (State::Value, Some(_)) => {
                    let byte = self.consumed;
                    let line = self.line;
                    self.cut_value(rdr, out)?;
                    // The frame reaches to where the next value begins.
                    let after = self.skip_whitespace(rdr)?;
                    if self.framing == Framing::Array && after == Some(b',') {
                        self.take(rdr, 1);
                        self.skip_whitespace(rdr)?;
                    }
                    return Ok(Some(Frame {
                        byte,
                        line,
                        len: self.consumed - byte,
                    }));
                }
            }
        }
    }

    fn shape(&self, message: &str) -> FrameError {
        FrameError::Shape {
            byte: self.consumed,
            line: self.line,
            message: message.to_string(),
        }
    }

    fn take<R: BufRead>(&mut self, rdr: &mut R, n: usize) {
        rdr.consume(n);
        self.consumed += n as u64;
    }

    /// Skips a byte-order mark at the input's start. A reader may hand over fewer bytes
    /// than the mark at a time; a part of it that is not all of it is no JSON either way.
    fn skip_bom<R: BufRead>(&mut self, rdr: &mut R) -> std::io::Result<()> {
        while let Some(&want) = BOM.get(self.consumed as usize) {
            match rdr.fill_buf()?.first() {
                Some(&b) if b == want => self.take(rdr, 1),
                _ => break,
            }
        }
        Ok(())
    }

    /// Skips whitespace; the byte after it, not consumed.
    fn skip_whitespace<R: BufRead>(&mut self, rdr: &mut R) -> std::io::Result<Option<u8>> {
        loop {
            let buf = rdr.fill_buf()?;
            if buf.is_empty() {
                return Ok(None);
            }
            let ws = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            let lines = buf[..ws].iter().filter(|&&b| b == b'\n').count() as u64;
            let next = buf.get(ws).copied();
            self.line += lines;
            self.take(rdr, ws);
            if next.is_some() {
                return Ok(next);
            }
        }
    }

    /// Reads one value into `out`: an object or array to its matching bracket, a string to
    /// its closing quote, anything else to the next whitespace, `,` or closing bracket.
    fn cut_value<R: BufRead>(&mut self, rdr: &mut R, out: &mut Vec<u8>) -> Result<(), FrameError> {
        let mut depth = 0u32;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            let buf = rdr.fill_buf()?;
            if buf.is_empty() {
                if depth > 0 || in_string {
                    return Err(self.shape("the input ends inside a value"));
                }
                return Ok(());
            }
            let mut i = 0;
            let mut done = false;
            while i < buf.len() {
                let b = buf[i];
                if in_string {
                    out.push(b);
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            i += 1;
                            done = true;
                            break;
                        }
                    } else if b == b'\n' {
                        self.line += 1;
                    }
                    i += 1;
                    continue;
                }
                match b {
                    b'"' => {
                        in_string = true;
                        out.push(b);
                    }
                    b'{' | b'[' => {
                        depth += 1;
                        out.push(b);
                    }
                    // Where no value began, a stray bracket or comma is the value (which the
                    // parser then refuses): else nothing would be read, over and over.
                    b'}' | b']' | b',' if depth == 0 && out.is_empty() => {
                        out.push(b);
                        i += 1;
                        done = true;
                        break;
                    }
                    b'}' | b']' if depth == 0 => {
                        done = true;
                        break;
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        out.push(b);
                        if depth == 0 {
                            i += 1;
                            done = true;
                            break;
                        }
                    }
                    b',' if depth == 0 => {
                        done = true;
                        break;
                    }
                    b if b.is_ascii_whitespace() => {
                        if depth == 0 && !out.is_empty() {
                            done = true;
                            break;
                        }
                        if b == b'\n' {
                            self.line += 1;
                        }
                    }
                    _ => out.push(b),
                }
                i += 1;
            }
            self.take(rdr, i);
            if done {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value's text and frame, or the error's message.
    fn cut(framing: Framing, input: &str, chunk: usize) -> Result<Vec<(String, Frame)>, String> {
        let mut rdr = std::io::BufReader::with_capacity(chunk, input.as_bytes());
        let mut frames = Frames::new(framing);
        let mut out = Vec::new();
        let mut all = Vec::new();
        loop {
            match frames.next(&mut rdr, &mut out) {
                Ok(Some(f)) => all.push((String::from_utf8_lossy(&out).into_owned(), f)),
                Ok(None) => return Ok(all),
                Err(FrameError::Shape {
                    byte,
                    line,
                    message,
                }) => return Err(format!("{message} at byte {byte}, line {line}")),
                Err(FrameError::Io(e)) => return Err(e.to_string()),
            }
        }
    }

    #[test]
    fn framing_from_the_first_bytes() {
        assert_eq!(
            Framing::of(b"\xEF\xBB\xBF\n  [\n{\"a\":1}]"),
            Framing::Array
        );
        assert_eq!(Framing::of(b"{\n  \"a\": 1\n}\n"), Framing::Values);
        assert_eq!(Framing::of(b"{\"a\": 1}\n{\"a\": 2}\n"), Framing::Lines);
        // A first line that is no JSON at all is the reader's to report, line by line.
        assert_eq!(Framing::of(b"{\"a\" 1}\n"), Framing::Lines);
        assert_eq!(Framing::of(b""), Framing::Lines);
        assert_eq!(
            Framing::of(b"{\"a\": \"a first line longer than the head"),
            Framing::Lines
        );
        assert_eq!(Framing::of(b"id,name\n"), Framing::Lines);
    }

    #[test]
    fn an_arrays_elements_reach_to_the_next_ones_start() {
        let input = "\u{feff}[\n  {\"a\": [1, {\"b\": \"x]}\\\"\"}]},\n  {\"a\" : 2} ,{}\n]\n";
        for chunk in [1, 2, 3, 7, 64] {
            let got = cut(Framing::Array, input, chunk).unwrap();
            let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
            assert_eq!(
                texts,
                ["{\"a\":[1,{\"b\":\"x]}\\\"\"}]}", "{\"a\":2}", "{}"]
            );
            let frames: Vec<Frame> = got.iter().map(|(_, f)| *f).collect();
            let second = input.find("{\"a\" : 2}").unwrap() as u64;
            let third = input.find("{}").unwrap() as u64;
            let first = input.find('{').unwrap() as u64;
            let close = input.rfind(']').unwrap() as u64;
            assert_eq!(
                frames,
                [
                    Frame {
                        byte: first,
                        line: 2,
                        len: second - first
                    },
                    Frame {
                        byte: second,
                        line: 3,
                        len: third - second
                    },
                    Frame {
                        byte: third,
                        line: 3,
                        len: close - third
                    },
                ],
                "chunk {chunk}"
            );
            // A cutter started where a frame begins reads on from there.
            let mut rdr =
                std::io::BufReader::with_capacity(chunk, &input.as_bytes()[second as usize..]);
            let mut frames = Frames::starting_at(Framing::Array, second, 3);
            let mut out = Vec::new();
            let f = frames.next(&mut rdr, &mut out).unwrap().unwrap();
            assert_eq!((f.byte, out.as_slice()), (second, &b"{\"a\":2}"[..]));
        }
        assert_eq!(cut(Framing::Array, " [ ] ", 4).unwrap(), []);
        assert_eq!(
            cut(Framing::Array, "[1, 2, \"x y\"]", 4)
                .unwrap()
                .iter()
                .map(|(t, _)| t.as_str())
                .collect::<Vec<_>>(),
            ["1", "2", "\"x y\""]
        );
    }

    #[test]
    fn values_over_several_lines_one_after_another() {
        let input = "{\n  \"a\": 1,\n  \"s\": \"x y\"\n}\n{\n  \"a\": 2\n}\n";
        let got = cut(Framing::Values, input, 5).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "{\"a\":1,\"s\":\"x y\"}");
        assert_eq!((got[1].1.byte, got[1].1.line), (27, 5));
        assert_eq!(got[0].1.len, 27);
    }

    #[test]
    fn what_is_no_array_says_where() {
        let e = |s: &str| cut(Framing::Array, s, 8).unwrap_err();
        assert_eq!(
            e("[{\"a\":1},\n{\"a\":2}"),
            "the array ends without its closing ']' at byte 17, line 2"
        );
        assert_eq!(
            e("[{\"a\":1}] x"),
            "more data after the array's closing ']' at byte 10, line 1"
        );
        // Commas too many or missing, arrays one after another: every element is read.
        let texts = |s: &str| -> Vec<String> {
            cut(Framing::Array, s, 8)
                .unwrap()
                .into_iter()
                .map(|(t, _)| t)
                .collect()
        };
        assert_eq!(
            texts("[{\"a\":1}\n{\"a\":2},,]\n[3]"),
            ["{\"a\":1}", "{\"a\":2}", "3"]
        );
        // A stray closing bracket is a value of its own, which the parser refuses.
        assert_eq!(texts("[}, {\"a\":1}]"), ["}", "{\"a\":1}"]);
        let values: Vec<String> = cut(Framing::Values, "}\n{\"a\":1} ,", 8)
            .unwrap()
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert_eq!(values, ["}", "{\"a\":1}", ","]);
        assert_eq!(
            e("[{\"a\":\"x]"),
            "the input ends inside a value at byte 9, line 1"
        );
        assert_eq!(e("x"), "expected a JSON array, '[' at byte 0, line 1");
    }

    #[test]
    fn lines_are_lines() {
        let got = cut(Framing::Lines, "{\"a\":1}\n\n{\"a\":2}", 3).unwrap();
        let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, ["{\"a\":1}\n", "\n", "{\"a\":2}"]);
        assert_eq!(
            got[2].1,
            Frame {
                byte: 9,
                line: 3,
                len: 7
            }
        );
    }
}
