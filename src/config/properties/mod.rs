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
mod tests;

#[cfg(test)]
mod fuzz;
