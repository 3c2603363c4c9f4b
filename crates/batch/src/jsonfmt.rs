//! JSON output byte-compatible with Go's `encoding/json` (spec §1.10).
//!
//! Go escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings; tsuku's consumers and the
//! real failure files carry those escapes, so every JSON file this crate writes goes through
//! [`to_pretty`] (2-space indentation, trailing newline) or [`to_compact`] (no spaces, trailing
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
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc: &[u8] = match c {
                '<' => b"\\u003c",
                '>' => b"\\u003e",
                '&' => b"\\u0026",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            w.write_all(&fragment.as_bytes()[start..i])?;
            w.write_all(esc)?;
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
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
pub fn to_compact<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    write_with(value, GoEscapes(CompactFormatter))
}

fn write_with<T: Serialize + ?Sized, F: Formatter>(value: &T, f: F) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, f);
    value.serialize(&mut ser)?;
    out.push(b'\n');
    Ok(out)
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
