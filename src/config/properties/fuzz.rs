//! Property tests: the parser never panics on any input, and whatever `java.util.Properties`
//! would write (`store`'s escaping) reads back exactly, with the right line numbers.
//!
//! 2,000 cases per property by default: about 4 s for the four in a debug build; set
//! `PROPTEST_CASES` to run longer.
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
        '\\', 'u', 'U', '0', 'd', 'D', 'F', '8', 'c', '=', ':', ' ', '\t', '\x0c', '\n', '\r', '#',
        '!', 'a', 'é', '\u{FEFF}', '\u{0}', '😀',
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
