//! Cutting and quoting the text of failure messages for one-line views: records and rows keep
//! a bounded message (bytes, cut at a UTF-8 boundary), logs and Markdown show a bounded line
//! (characters, `…` marking a cut) that cannot break a code span.

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn head_bytes(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The longest suffix of `s` of at most `max` bytes that starts on a character boundary.
pub fn tail_bytes(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// The first `max` characters of `s`, followed by `…` when anything was cut.
pub fn cut_chars(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// `s` made safe inside a single-backtick Markdown code span: backticks become `'`, control
/// characters spaces.
pub fn code_span_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '`' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_cuts_stay_on_character_boundaries() {
        // "é" is 2 bytes: a cut inside it moves out of it.
        assert_eq!(head_bytes("aéb", 2), "a");
        assert_eq!(head_bytes("aéb", 3), "aé");
        assert_eq!(head_bytes("ab", 10), "ab");
        assert_eq!(tail_bytes("aéb", 2), "b");
        assert_eq!(tail_bytes("aéb", 3), "éb");
        assert_eq!(tail_bytes("ab", 10), "ab");
    }

    #[test]
    fn character_cuts_mark_the_cut() {
        assert_eq!(cut_chars("éé", 2), "éé");
        assert_eq!(cut_chars("ééé", 2), "éé…");
        assert_eq!(code_span_text("a`b\tc"), "a'b c");
    }
}
