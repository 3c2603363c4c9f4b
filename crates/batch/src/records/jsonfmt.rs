//! JSON output byte-compatible with Go's `encoding/json` (spec §1.10).
//!
//! Go escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings; tsuku's consumers and the
//! real failure files carry those escapes, so every JSON file this crate writes goes through
//! [`to_pretty`] (2-space indentation, trailing newline) or `to_compact` (no spaces, trailing
//! newline).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// A serde_json formatter that adds Go's HTML-safe escapes to any inner formatter.
struct GoEscapes<F>(F);

macro_rules! delegate {
    ($($name:ident($($arg:ident : $ty:ty),*);)*) => {$(
        #[inline]
        fn $name<W: ?Sized + Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.0.$name(w $(, $arg)*)
        }
    )*};
}

impl<F: Formatter> Formatter for GoEscapes<F> {
    delegate! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Byte scan: `<`, `>`, `&` and the first byte (0xE2) of U+2028/U+2029 are the only
        // starts of an escape, and most fragments contain none of them.
        let bytes = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let esc: &[u8] = match bytes[i] {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                b'&' => b"\\u0026",
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => {
                    b"\\u2028"
                }
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => {
                    b"\\u2029"
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            w.write_all(&bytes[start..i])?;
            w.write_all(esc)?;
            i += if bytes[i] == 0xE2 { 3 } else { 1 };
            start = i;
        }
        w.write_all(&bytes[start..])
    }
}

/// Serialises `value` as Go's `json.MarshalIndent(v, "", "  ")` plus a trailing `\n`.
///
/// # Errors
/// Only a `Serialize` impl that fails (none of this crate's types do).
pub fn to_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    write_with(value, GoEscapes(PrettyFormatter::with_indent(b"  ")))
}

/// Serialises `value` as Go's `json.Marshal(v)` plus a trailing `\n` (failure JSONL lines).
///
/// # Errors
/// Only a `Serialize` impl that fails.
pub(crate) fn to_compact<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    write_with(value, GoEscapes(CompactFormatter))
}

fn write_with<T: Serialize + ?Sized, F: Formatter>(value: &T, f: F) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, f);
    value.serialize(&mut ser)?;
    out.push(b'\n');
    Ok(out)
}

/// Streams `value` as [`to_pretty`] would produce it into `w`.
///
/// # Errors
/// Write errors of `w` (as `io::Error`), or a failing `Serialize` impl.
pub(crate) fn write_pretty<W: Write, T: Serialize + ?Sized>(
    w: &mut W,
    value: &T,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(
        &mut *w,
        GoEscapes(PrettyFormatter::with_indent(b"  ")),
    );
    value.serialize(&mut ser).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_html_like_go() {
        let v = json!({"m": "a<b>&c\u{2028}d\u{2029}", "n": "plain \"q\"\n"});
        let out = String::from_utf8(to_compact(&v).unwrap()).unwrap();
        assert_eq!(
            out,
            "{\"m\":\"a\\u003cb\\u003e\\u0026c\\u2028d\\u2029\",\"n\":\"plain \\\"q\\\"\\n\"}\n"
        );
    }

    #[test]
    fn pretty_matches_marshal_indent() {
        let v = json!({"a": [], "b": {}, "c": [1, {"d": null}]});
        let out = String::from_utf8(to_pretty(&v).unwrap()).unwrap();
        assert_eq!(
            out,
            "{\n  \"a\": [],\n  \"b\": {},\n  \"c\": [\n    1,\n    {\n      \"d\": null\n    }\n  ]\n}\n"
        );
    }
}
