//! Small XML and HTML string helpers for the SAML tests: find an element by its local name
//! (whatever its prefix), read an attribute or a text, escape, format SAML times, read the
//! HTTP-POST binding's auto-submitting form ([`AutoPost`]). Enough for
//! the well-formed documents SimpleSAMLphp, `xmlsec1` and `saml_forge` write; not a parser
//! (the SP under test has one: these helpers only look at what was sent).
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A SAML `xs:dateTime` in UTC: `2024-05-01T12:00:00Z`.
pub fn iso8601(unix: i64) -> String {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A fresh SAML ID: `_` and 40 hex digits (an NCName, as the schema wants).
pub fn random_id() -> String {
    let mut bytes = [0u8; 20];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    format!("_{}", hex::encode(bytes))
}

/// Escapes text or an attribute value.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Resolves the predefined entities and character references (XML and the ones HTML pages
/// use).
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where the start tag of the first `local_name` element at or after `from` begins, and its
/// qualified name.
fn find_start(xml: &str, local_name: &str, from: usize) -> Option<(usize, String)> {
    let mut at = from;
    while let Some(i) = xml[at..].find('<') {
        let start = at + i;
        let name_end = xml[start + 1..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .map(|j| start + 1 + j)?;
        let qname = &xml[start + 1..name_end];
        let local = qname.rsplit(':').next().unwrap();
        if local == local_name && !qname.starts_with(['/', '!', '?']) {
            return Some((start, qname.to_string()));
        }
        at = start + 1;
    }
    None
}

/// The byte range of the first `local_name` element at or after `from` (start tag to end
/// tag, nested elements of the same name counted).
fn span_from(xml: &str, local_name: &str, from: usize) -> Option<(usize, usize)> {
    let (start, qname) = find_start(xml, local_name, from)?;
    let tag_end = start + xml[start..].find('>')? + 1;
    if xml[..tag_end].ends_with("/>") {
        return Some((start, tag_end));
    }
    let (open, close) = (format!("<{qname}"), format!("</{qname}>"));
    let mut depth = 1;
    let mut at = tag_end;
    loop {
        let next_close = at + xml[at..].find(&close)?;
        // a nested start tag of the same name (not a longer name sharing the prefix)
        let next_open = xml[at..next_close].match_indices(&open).find_map(|(j, _)| {
            let after = xml[at + j + open.len()..].chars().next()?;
            (after.is_whitespace() || after == '>' || after == '/').then_some(at + j)
        });
        match next_open {
            Some(o) => {
                let o_end = o + xml[o..].find('>')? + 1;
                if !xml[..o_end].ends_with("/>") {
                    depth += 1;
                }
                at = o_end;
            }
            None => {
                depth -= 1;
                at = next_close + close.len();
                if depth == 0 {
                    return Some((start, at));
                }
            }
        }
    }
}

/// The byte range of the first `local_name` element (any prefix), start tag to end tag.
pub fn element_span(xml: &str, local_name: &str) -> Option<(usize, usize)> {
    span_from(xml, local_name, 0)
}

/// Every `local_name` element, in document order (not the ones nested in another).
pub fn elements<'a>(xml: &'a str, local_name: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some((s, e)) = span_from(xml, local_name, at) {
        found.push(&xml[s..e]);
        at = e;
    }
    found
}

/// The start tags of every `local_name` element, in document order (for HTML's void
/// elements, such as `input`, which have no end tag).
pub fn start_tags<'a>(html: &'a str, local_name: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some((start, _)) = find_start(html, local_name, at) {
        let Some(len) = html[start..].find('>') else {
            break;
        };
        found.push(&html[start..=start + len]);
        at = start + len;
    }
    found
}

/// An attribute of the first `local_name` element, unescaped.
pub fn first_attr(xml: &str, local_name: &str, attr: &str) -> Option<String> {
    let (start, _) = find_start(xml, local_name, 0)?;
    let tag = &xml[start..start + xml[start..].find('>')?];
    for quote in ['"', '\''] {
        let needle = format!("{attr}={quote}");
        let mut at = 0;
        while let Some(i) = tag[at..].find(&needle) {
            let pos = at + i;
            if tag[..pos].ends_with(char::is_whitespace) {
                let value = &tag[pos + needle.len()..];
                return Some(unescape(&value[..value.find(quote)?]));
            }
            at = pos + 1;
        }
    }
    None
}

/// The text content of the first `local_name` element, unescaped (markup inside dropped).
pub fn first_text(xml: &str, local_name: &str) -> Option<String> {
    let (s, e) = element_span(xml, local_name)?;
    Some(inner_text(&xml[s..e]))
}

/// The text of an element, its own tags and any child markup dropped.
pub fn inner_text(element: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in element.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    unescape(text.trim())
}

/// The values of the SAML Attribute `name` in the first AttributeStatement.
pub fn attribute_values(xml: &str, name: &str) -> Vec<String> {
    elements(xml, "Attribute")
        .into_iter()
        .find(|a| first_attr(a, "Attribute", "Name").as_deref() == Some(name))
        .map(|a| {
            elements(a, "AttributeValue")
                .into_iter()
                .map(inner_text)
                .collect()
        })
        .unwrap_or_default()
}

/// The attribute `want` of the first `<tag>` whose attribute `key` is `value`.
pub fn first_attr_where(
    html: &str,
    tag: &str,
    key: &str,
    value: &str,
    want: &str,
) -> Option<String> {
    start_tags(html, tag)
        .into_iter()
        .find(|e| first_attr(e, tag, key).as_deref() == Some(value))
        .and_then(|e| first_attr(e, tag, want))
}

/// The HTTP-POST binding's auto-submitting form, as SimpleSAMLphp renders it.
#[derive(Clone, Debug)]
pub struct AutoPost {
    /// Where the form posts (the SP's ACS URL).
    pub action: String,
    /// The `SAMLResponse` field (base64).
    pub saml_response: String,
    /// The `RelayState` field.
    pub relay_state: Option<String>,
}

impl AutoPost {
    /// Reads the form of an auto-POST page; `None` if the page has no `SAMLResponse`.
    pub fn parse(html: &str) -> Option<AutoPost> {
        let form = elements(html, "form").into_iter().next()?;
        let saml_response = first_attr_where(form, "input", "name", "SAMLResponse", "value")?;
        Some(AutoPost {
            action: first_attr(form, "form", "action")?,
            saml_response: saml_response.split_whitespace().collect(),
            relay_state: first_attr_where(form, "input", "name", "RelayState", "value"),
        })
    }

    /// The SAML Response, decoded from base64.
    pub fn response_xml(&self) -> String {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.saml_response)
            .expect("SAMLResponse is base64");
        String::from_utf8(bytes).expect("the Response is UTF-8")
    }

    /// The form as the browser would post it (`application/x-www-form-urlencoded`).
    pub fn form_body(&self) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("SAMLResponse", &self.saml_response);
        if let Some(relay_state) = &self.relay_state {
            form.append_pair("RelayState", relay_state);
        }
        form.finish()
    }
}

#[test]
fn saml_xml_helpers_format_times_and_find_elements() {
    assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
    assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(iso8601(1_714_564_800 + 3_661), "2024-05-01T13:01:01Z");
    assert_eq!(unescape("a&amp;b&lt;&#39;&#x41;&bogus"), "a&b<'A&bogus");
    let xml = r#"<p:R xmlns:p="u" ID="_1"><p:A ID='_2'><p:A ID="_3"/><p:AB/></p:A><A>x &amp; y</A></p:R>"#;
    assert_eq!(
        element_span(xml, "A").map(|(s, e)| &xml[s..e]),
        Some(r#"<p:A ID='_2'><p:A ID="_3"/><p:AB/></p:A>"#)
    );
    assert_eq!(elements(xml, "A").len(), 2);
    assert_eq!(first_attr(xml, "A", "ID").as_deref(), Some("_2"));
    assert_eq!(first_attr(xml, "R", "D"), None);
    assert_eq!(inner_text(elements(xml, "A")[1]), "x & y");
    let html = r#"<form><input name="a" value="1"><input name="b" value="x&amp;y"></form>"#;
    assert_eq!(start_tags(html, "input").len(), 2);
    assert_eq!(
        first_attr(start_tags(html, "input")[1], "input", "value").as_deref(),
        Some("x&y")
    );
}
