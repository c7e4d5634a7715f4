//! The `.properties` reader, case by case.
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
