//! Java `.properties` syntax, exactly as `java.util.Properties.load` reads it.
//!
//! The rules (all of them, see the tests at the bottom):
//! - natural lines end at `\n`, `\r` or `\r\n`; leading whitespace (space, `\t`, `\f`) of
//!   every natural line is skipped;
//! - a line whose first non-blank character is `#` or `!` is a comment; blank lines are
//!   skipped;
//! - a line ending in an odd number of backslashes continues on the next natural line
//!   (the backslash and the line break are dropped, so is the next line's leading
//!   whitespace);
//! - the key ends at the first unescaped `=`, `:` or whitespace; then whitespace, at most
//!   one `=`/`:`, whitespace; the rest of the line is the value, trailing whitespace
//!   included;
//! - escapes `\t`, `\n`, `\r`, `\f`, `\uXXXX` (UTF-16, surrogate pairs are combined), any
//!   other `\c` is `c`;
//! - a key alone has the empty value; a later duplicate wins.

use std::error::Error;

use config::{FileStoredFormat, Format, Map, Value, ValueKind};

/// One `key = value` pair, with the (1-based) line on which its logical line starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The unescaped key.
    pub key: String,
    /// The unescaped value (trailing whitespace kept, as Java does).
    pub value: String,
    /// 1-based line number where the entry starts.
    pub line: usize,
}

/// A syntax error (the only one Java knows: a malformed `\uXXXX` escape).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number of the offending escape.
    pub line: usize,
    /// What is wrong there.
    pub message: String,
}

/// Decodes file bytes: UTF-8 (a leading byte-order mark is dropped), or ISO-8859-1 (the
/// encoding Java's `Properties.load(InputStream)` assumes) if the bytes are not UTF-8.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Parses properties text into its entries, in file order (duplicates included; the
/// last one wins when they are put in a map).
pub fn parse(text: &str) -> Result<Vec<Entry>, ParseError> {
    logical_lines(text)
        .into_iter()
        .map(|line| split_entry(&line))
        .collect()
}

/// Parses properties text into a map, a later duplicate overriding an earlier one.
pub fn parse_map(text: &str) -> Result<std::collections::BTreeMap<String, String>, ParseError> {
    Ok(parse(text)?
        .into_iter()
        .map(|entry| (entry.key, entry.value))
        .collect())
}

/// A logical line: its characters, each with the natural line it came from.
struct LogicalLine {
    chars: Vec<(char, usize)>,
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

fn is_eol(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

/// Splits the text into logical lines, following `java.util.Properties.LineReader`.
fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let chars: Vec<char> = text.chars().collect();
    // Length of the line terminator at `i` (`\r\n` counts as one).
    let eol_len = |i: usize| -> usize {
        if chars.get(i) == Some(&'\r') && chars.get(i + 1) == Some(&'\n') {
            2
        } else {
            1
        }
    };

    let mut lines = Vec::new();
    let mut buf: Vec<(char, usize)> = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let mut skip_white_space = true;
    // Set after a continuation: an empty next line then ends the logical line.
    let mut appended_line_begin = false;
    let mut preceding_backslash = false;

    while let Some(&c) = chars.get(i) {
        if skip_white_space {
            if is_blank(c) {
                i += 1;
                continue;
            }
            if !appended_line_begin && is_eol(c) {
                i += eol_len(i);
                line += 1;
                continue;
            }
            skip_white_space = false;
            appended_line_begin = false;
        }
        if buf.is_empty() && (c == '#' || c == '!') {
            // A comment runs to the end of its natural line; no continuation.
            while let Some(&c) = chars.get(i) {
                if is_eol(c) {
                    break;
                }
                i += 1;
            }
            if chars.get(i).is_some() {
                i += eol_len(i);
                line += 1;
            }
            skip_white_space = true;
            continue;
        }
        if !is_eol(c) {
            buf.push((c, line));
            preceding_backslash = c == '\\' && !preceding_backslash;
            i += 1;
            continue;
        }
        i += eol_len(i);
        line += 1;
        skip_white_space = true;
        if buf.is_empty() {
            continue;
        }
        if preceding_backslash {
            // The backslash is not part of the line; the next line's indent is skipped.
            buf.pop();
            appended_line_begin = true;
            preceding_backslash = false;
        } else {
            lines.push(LogicalLine {
                chars: std::mem::take(&mut buf),
            });
        }
    }
    if preceding_backslash {
        buf.pop();
    }
    if !buf.is_empty() {
        lines.push(LogicalLine { chars: buf });
    }
    lines
}

/// Splits a logical line into key and value, following `Properties.load0`.
fn split_entry(line: &LogicalLine) -> Result<Entry, ParseError> {
    let chars = &line.chars;
    let limit = chars.len();
    let mut key_len = 0;
    let mut value_start = limit;
    let mut has_separator = false;
    let mut preceding_backslash = false;

    while let Some(&(c, _)) = chars.get(key_len) {
        if (c == '=' || c == ':') && !preceding_backslash {
            value_start = key_len + 1;
            has_separator = true;
            break;
        }
        if is_blank(c) && !preceding_backslash {
            value_start = key_len + 1;
            break;
        }
        preceding_backslash = c == '\\' && !preceding_backslash;
        key_len += 1;
    }
    while let Some(&(c, _)) = chars.get(value_start) {
        if !is_blank(c) {
            if !has_separator && (c == '=' || c == ':') {
                has_separator = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }

    let key = unescape(&chars[..key_len])?;
    let value = unescape(chars.get(value_start..).unwrap_or(&[]))?;
    Ok(Entry {
        key,
        value,
        line: chars.first().map_or(1, |&(_, line)| line),
    })
}

/// Resolves escapes, following `Properties.loadConvert`.
fn unescape(chars: &[(char, usize)]) -> Result<String, ParseError> {
    let mut out = String::with_capacity(chars.len());
    // A high surrogate from `\uD8xx` waiting for its low half.
    let mut pending_high: Option<u16> = None;
    let mut i = 0;

    while let Some(&(c, line)) = chars.get(i) {
        i += 1;
        if c != '\\' {
            flush_surrogate(&mut out, &mut pending_high);
            out.push(c);
            continue;
        }
        let Some(&(escaped, _)) = chars.get(i) else {
            // A lone trailing backslash cannot survive line reading; drop it like Java.
            break;
        };
        i += 1;
        if escaped != 'u' {
            flush_surrogate(&mut out, &mut pending_high);
            out.push(match escaped {
                't' => '\t',
                'n' => '\n',
                'r' => '\r',
                'f' => '\x0c',
                other => other,
            });
            continue;
        }
        let digits: String = chars.iter().skip(i).take(4).map(|&(c, _)| c).collect();
        let unit = if digits.chars().count() == 4 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
            u16::from_str_radix(&digits, 16).ok()
        } else {
            None
        };
        let Some(unit) = unit else {
            return Err(ParseError {
                line,
                message: format!(
                    "malformed \\uXXXX escape \"\\u{}\": expected 4 hexadecimal digits",
                    digits.escape_debug()
                ),
            });
        };
        i += 4;
        match (pending_high.take(), unit) {
            (Some(high), 0xDC00..=0xDFFF) => {
                let code =
                    0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            (high, 0xD800..=0xDBFF) => {
                if high.is_some() {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
                pending_high = Some(unit);
            }
            (high, _) => {
                if high.is_some() {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
                out.push(char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
    }
    flush_surrogate(&mut out, &mut pending_high);
    Ok(out)
}

/// A high surrogate without its low half cannot be a Rust `char`: it becomes U+FFFD.
fn flush_surrogate(out: &mut String, pending_high: &mut Option<u16>) {
    if pending_high.take().is_some() {
        out.push(char::REPLACEMENT_CHARACTER);
    }
}

/// The `.properties` format for the `config` crate: `File::from_str(text, PropertiesFormat)`.
///
/// Every key goes into the map as written (flat, dots included); `config` then nests
/// dotted keys by path when it merges the source, so `a.b = 1` is read back with
/// `config.get_string("a.b")`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PropertiesFormat;

impl Format for PropertiesFormat {
    fn parse(
        &self,
        uri: Option<&String>,
        text: &str,
    ) -> Result<Map<String, Value>, Box<dyn Error + Send + Sync>> {
        let mut map = Map::new();
        for entry in parse(text)? {
            map.insert(entry.key, Value::new(uri, ValueKind::String(entry.value)));
        }
        Ok(map)
    }
}

impl FileStoredFormat for PropertiesFormat {
    fn file_extensions(&self) -> &'static [&'static str] {
        &["properties"]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect()
    }

    fn one(text: &str) -> (String, String) {
        let all = pairs(text);
        assert_eq!(all.len(), 1, "{all:?}");
        all.into_iter().next().unwrap()
    }

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn separators_equals_colon_and_whitespace() {
        assert_eq!(one("a=b"), kv("a", "b"));
        assert_eq!(one("a:b"), kv("a", "b"));
        assert_eq!(one("a b"), kv("a", "b"));
        assert_eq!(one("a\tb"), kv("a", "b"));
        assert_eq!(one("a\x0cb"), kv("a", "b"));
        assert_eq!(one("a = b"), kv("a", "b"));
        assert_eq!(one("a  :  b"), kv("a", "b"));
        assert_eq!(one("a \t= \tb"), kv("a", "b"));
    }

    #[test]
    fn only_one_separator_is_swallowed() {
        assert_eq!(one("a==b"), kv("a", "=b"));
        assert_eq!(one("a = = b"), kv("a", "= b"));
        assert_eq!(one("a::b"), kv("a", ":b"));
        assert_eq!(one("a :=b"), kv("a", "=b"));
        // Whitespace as separator, then one `=` is still allowed.
        assert_eq!(one("a = :b"), kv("a", ":b"));
        assert_eq!(one("a b=c"), kv("a", "b=c"));
    }

    #[test]
    fn key_alone_has_empty_value() {
        assert_eq!(one("key"), kv("key", ""));
        assert_eq!(one("key="), kv("key", ""));
        assert_eq!(one("key :"), kv("key", ""));
        assert_eq!(one("key   "), kv("key", ""));
        assert_eq!(one("=value"), kv("", "value"));
    }

    #[test]
    fn leading_whitespace_is_skipped_trailing_whitespace_kept() {
        assert_eq!(one("   \t\x0ckey = value  \t"), kv("key", "value  \t"));
    }

    #[test]
    fn comments_with_hash_and_bang_even_indented() {
        let text = "# comment\n! also\n   # indented\n\t!tab\na=b # not a comment\n";
        assert_eq!(pairs(text), vec![kv("a", "b # not a comment")]);
    }

    #[test]
    fn comment_line_ending_in_backslash_does_not_continue() {
        assert_eq!(pairs("# comment \\\na=b"), vec![kv("a", "b")]);
    }

    #[test]
    fn blank_lines_are_skipped() {
        assert_eq!(
            pairs("\n\n   \n\t\na=1\n\r\n \r b=2\n\n"),
            vec![kv("a", "1"), kv("b", "2")]
        );
        assert!(pairs("").is_empty());
        assert!(pairs("   ").is_empty());
    }

    #[test]
    fn line_terminators_lf_cr_crlf() {
        assert_eq!(
            pairs("a=1\nb=2\rc=3\r\nd=4"),
            vec![kv("a", "1"), kv("b", "2"), kv("c", "3"), kv("d", "4")]
        );
    }

    #[test]
    fn line_numbers_count_every_terminator_kind_once() {
        let entries = parse("a=1\r\n\r\n# c\rb=2\n\nc=\\\n  3\nd=4").unwrap();
        let lines: Vec<(String, usize)> = entries.into_iter().map(|e| (e.key, e.line)).collect();
        assert_eq!(
            lines,
            vec![
                ("a".into(), 1),
                ("b".into(), 4),
                ("c".into(), 6),
                ("d".into(), 8)
            ]
        );
    }

    #[test]
    fn continuation_skips_leading_whitespace_of_next_line() {
        assert_eq!(
            one("a = one, \\\n    two, \\\n\tthree"),
            kv("a", "one, two, three")
        );
        assert_eq!(one("a = x\\\r\n   y"), kv("a", "xy"));
        assert_eq!(one("a = x\\\r   y"), kv("a", "xy"));
    }

    #[test]
    fn continuation_inside_the_key() {
        assert_eq!(one("ke\\\n  y = v"), kv("key", "v"));
    }

    #[test]
    fn continued_line_starting_with_hash_is_not_a_comment() {
        assert_eq!(one("a = x\\\n  # y"), kv("a", "x# y"));
    }

    #[test]
    fn even_number_of_backslashes_does_not_continue() {
        assert_eq!(
            pairs("a = x\\\\\nb = y"),
            vec![kv("a", "x\\"), kv("b", "y")]
        );
        assert_eq!(one("a = x\\\\\\\n y"), kv("a", "x\\y"));
    }

    #[test]
    fn continuation_followed_by_empty_line_ends_the_entry() {
        assert_eq!(pairs("a = x\\\n\nb = y"), vec![kv("a", "x"), kv("b", "y")]);
        assert_eq!(
            pairs("a = x\\\n   \nb = y"),
            vec![kv("a", "x"), kv("b", "y")]
        );
    }

    #[test]
    fn backslash_at_end_of_file_is_dropped() {
        assert_eq!(one("a = x\\"), kv("a", "x"));
        assert_eq!(one("a = x\\\n"), kv("a", "x"));
    }

    #[test]
    fn escaped_separators_belong_to_the_key() {
        assert_eq!(one("a\\=b = c"), kv("a=b", "c"));
        assert_eq!(one("a\\:b:c"), kv("a:b", "c"));
        assert_eq!(one("a\\ b c"), kv("a b", "c"));
        assert_eq!(one("a\\\\=b"), kv("a\\", "b"));
    }

    #[test]
    fn character_escapes() {
        assert_eq!(one("a = \\t\\n\\r\\f"), kv("a", "\t\n\r\x0c"));
        assert_eq!(one("a = \\q\\#\\!\\\\\\ x"), kv("a", "q#!\\ x"));
        assert_eq!(one("\\#key = v"), kv("#key", "v"));
        // A leading escaped blank keeps the value's leading whitespace.
        assert_eq!(one("a = \\  x"), kv("a", "  x"));
    }

    #[test]
    fn unicode_escapes() {
        assert_eq!(one("a = \\u0041\\u00e9\\u00E9"), kv("a", "Aéé"));
        assert_eq!(one("\\u006B\\u0065\\u0079 = v"), kv("key", "v"));
        assert_eq!(one("a = \\uD83D\\uDE00"), kv("a", "😀"));
        assert_eq!(one("a = \\uD83Dx"), kv("a", "\u{FFFD}x"));
        assert_eq!(one("a = \\uDE00"), kv("a", "\u{FFFD}"));
    }

    #[test]
    fn malformed_unicode_escape_is_an_error_with_its_line() {
        let err = parse("a=1\n\nb = \\u12G4\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("malformed"), "{err}");
        assert!(err.to_string().starts_with("line 3: "), "{err}");

        let err = parse("a=1\nb = x\\\n  \\u12").unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(parse("\\uXYZW = 1").unwrap_err().line, 1);
    }

    #[test]
    fn later_duplicates_win_in_maps() {
        let map = parse_map("a=1\nb=2\na=3").unwrap();
        assert_eq!(map.get("a").map(String::as_str), Some("3"));
        assert_eq!(parse("a=1\na=3").unwrap().len(), 2);
    }

    #[test]
    fn utf8_text_and_latin1_fallback() {
        assert_eq!(decode("a = é".as_bytes()), "a = é");
        assert_eq!(decode(b"\xEF\xBB\xBFa=1"), "a=1");
        assert_eq!(decode(b"a = \xE9t\xE9"), "a = été");
    }

    #[test]
    fn format_works_with_config_file_from_str() {
        let text = "# c\nserver.port = 9000\nauthentication.server.key-store = /k.p12\n\
                    a.b = 1\na.b = 2\nkey.with\\ space = v\n";
        let raw = PropertiesFormat.parse(None, text).unwrap();
        assert_eq!(
            raw.get("authentication.server.key-store")
                .cloned()
                .unwrap()
                .into_string()
                .unwrap(),
            "/k.p12"
        );
        assert_eq!(raw.len(), 4);

        let cfg = config::Config::builder()
            .add_source(config::File::from_str(text, PropertiesFormat))
            .build()
            .unwrap();
        assert_eq!(cfg.get_string("server.port").unwrap(), "9000");
        assert_eq!(cfg.get::<u16>("server.port").unwrap(), 9000);
        assert_eq!(
            cfg.get_string("authentication.server.key-store").unwrap(),
            "/k.p12"
        );
        assert_eq!(cfg.get_string("a.b").unwrap(), "2");
        assert_eq!(PropertiesFormat.file_extensions(), &["properties"]);
    }

    #[test]
    fn format_reports_syntax_errors() {
        let err = config::Config::builder()
            .add_source(config::File::from_str("a = \\u00", PropertiesFormat))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}

/// Property tests: the parser never panics on any input, and whatever `java.util.Properties`
/// would write (`store`'s escaping) reads back exactly, with the right line numbers.
///
/// 2,000 cases per property by default: about 4 s for the four in a debug build; set
/// `PROPTEST_CASES` to run longer.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    const CASES: u32 = 2_000;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: CASES,
            ..ProptestConfig::default()
        }
    }

    /// Text dense in the characters the grammar cares about.
    fn hostile_text() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            '\\', 'u', 'U', '0', 'd', 'D', 'F', '8', 'c', '=', ':', ' ', '\t', '\x0c', '\n', '\r',
            '#', '!', 'a', 'é', '\u{FEFF}', '\u{0}', '😀',
        ]);
        let ch = prop_oneof![4 => special, 1 => any::<char>()];
        prop::collection::vec(ch, 0..200).prop_map(|v| v.into_iter().collect())
    }

    /// `Properties.saveConvert`: one escape unit per character.
    fn escape_units(s: &str, is_key: bool, unicode_escapes: bool) -> Vec<String> {
        let mut units = Vec::new();
        for (i, c) in s.chars().enumerate() {
            let unit = match c {
                ' ' if i == 0 || is_key => "\\ ".to_string(),
                '\t' => "\\t".to_string(),
                '\n' => "\\n".to_string(),
                '\r' => "\\r".to_string(),
                '\x0c' => "\\f".to_string(),
                '=' | ':' | '#' | '!' | '\\' => format!("\\{c}"),
                c if c.is_control() || (unicode_escapes && !c.is_ascii()) => {
                    let mut buf = [0u16; 2];
                    c.encode_utf16(&mut buf)
                        .iter()
                        .map(|u| format!("\\u{u:04X}"))
                        .collect()
                }
                c => c.to_string(),
            };
            units.push(unit);
        }
        units
    }

    #[derive(Debug, Clone)]
    struct Written {
        key: String,
        value: String,
        separator: &'static str,
        unicode_escapes: bool,
        /// continuation points, as fractions of the unit count
        breaks: Vec<u8>,
        comment_before: Option<String>,
        blank_lines_before: u8,
        eol: &'static str,
    }

    fn written() -> impl Strategy<Value = Written> {
        (
            any::<String>(),
            any::<String>(),
            prop::sample::select(vec!["=", ":", " = ", " ", "\t:\t", " :", "= "]),
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..3),
            prop::option::of("[^\r\n]{0,30}"),
            0u8..3,
            prop::sample::select(vec!["\n", "\r", "\r\n"]),
        )
            .prop_map(
                |(key, value, separator, unicode_escapes, breaks, comment, blanks, eol)| Written {
                    key,
                    value,
                    separator,
                    unicode_escapes,
                    breaks,
                    comment_before: comment,
                    blank_lines_before: blanks,
                    eol,
                },
            )
    }

    /// Writes the entries as a properties file; returns the text and, per entry, the line
    /// its logical line starts on.
    fn write(entries: &[Written]) -> (String, Vec<usize>) {
        let mut text = String::new();
        let mut line = 1;
        let mut starts = Vec::new();
        for e in entries {
            if let Some(c) = &e.comment_before {
                text.push_str(if c.len() % 2 == 0 { "#" } else { "!" });
                text.push_str(c);
                text.push_str(e.eol);
                line += 1;
            }
            for _ in 0..e.blank_lines_before {
                text.push_str("  ");
                text.push_str(e.eol);
                line += 1;
            }
            // a key-less line must not begin with whitespace that would then end the key
            let separator = if e.key.is_empty() && e.separator.trim().is_empty() {
                "="
            } else {
                e.separator
            };
            let mut units = escape_units(&e.key, true, e.unicode_escapes);
            units.push(separator.to_string());
            units.extend(escape_units(&e.value, false, e.unicode_escapes));
            starts.push(line);
            for (i, unit) in units.iter().enumerate() {
                let break_here = i > 0
                    && !unit.starts_with([' ', '\t', '\x0c'])
                    && e.breaks
                        .iter()
                        .any(|b| usize::from(*b) * units.len() / 256 == i);
                if break_here {
                    text.push('\\');
                    text.push_str(e.eol);
                    text.push_str(" \t ");
                    line += 1;
                }
                text.push_str(unit);
            }
            text.push_str(e.eol);
            line += 1;
        }
        (text, starts)
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn parse_never_panics_on_any_text(text in hostile_text()) {
            let _ = parse(&text);
            let _ = parse_map(&text);
        }

        #[test]
        fn decode_and_parse_never_panic_on_any_bytes(
            bytes in prop::collection::vec(any::<u8>(), 0..300),
        ) {
            let text = decode(&bytes);
            let _ = parse(&text);
        }

        #[test]
        fn java_escaped_entries_round_trip(entries in prop::collection::vec(written(), 0..6)) {
            let (text, starts) = write(&entries);
            let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text:?}")))?;
            let got: Vec<(String, String, usize)> =
                parsed.into_iter().map(|e| (e.key, e.value, e.line)).collect();
            let want: Vec<(String, String, usize)> = entries
                .iter()
                .zip(starts)
                .map(|(e, line)| (e.key.clone(), e.value.clone(), line))
                .collect();
            prop_assert_eq!(got, want, "text: {:?}", text);
        }

        #[test]
        fn text_without_backslashes_parses_into_single_line_entries(
            text in hostile_text().prop_map(|t| t.replace('\\', "")),
        ) {
            let entries = parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let natural_lines = text.split(['\n', '\r']).count();
            prop_assert!(entries.len() <= natural_lines);
            for e in entries {
                prop_assert!(!e.key.contains(['\n', '\r']) && !e.value.contains(['\n', '\r']));
                prop_assert!(!e.key.starts_with(['#', '!']));
                prop_assert!(e.line >= 1 && e.line <= natural_lines);
            }
        }
    }
}
