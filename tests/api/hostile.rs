//! Hostile input: ten thousand malformed requests (bad JSON, bad forms, huge headers and
//! bodies, invalid UTF-8, bad base64, forged and mangled JWTs, junk sign-in requests, broken
//! HTTP) each get a 4xx, never a 5xx, and valid requests keep succeeding throughout.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use futures::StreamExt;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::lifecycle_helpers::{client_credentials, field};
use crate::helpers::{bare_client, jwt_parts, spawn_app, TestApp, CLIENT, REDIRECT, SECRET};

const USER: &str = "alice";
const PASSWORD: &str = "alice-password-1";
/// Malformed requests fired at the server.
const MALFORMED: usize = 10_000;
/// Requests in flight at once.
const IN_FLIGHT: usize = 32;
/// A valid request goes into the stream after every this many malformed ones.
const VALID_EVERY: usize = 500;

/// What a malformed request may get back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Allowed {
    /// A 4xx.
    ClientError,
    /// A 4xx, or (`/authorize` only, once client and redirect URI are known) a redirect to
    /// the client whose query carries `error=`: OpenID Connect's refusal.
    ClientErrorOrErrorRedirect,
    /// A 4xx, or the connection closed without an answer. Only for header blocks larger than
    /// hyper's buffer: hyper may answer 431 or just drop such a connection.
    ClientErrorOrClosed,
    /// RFC 7662: an authenticated introspection of a garbage token is
    /// `200 {"active": false}`, not an error.
    InactiveIntrospection,
}

/// How a request goes on the wire.
enum Wire {
    /// Through reqwest (no cookies, no redirects followed).
    Http(Box<reqwest::RequestBuilder>),
    /// Bytes written to a fresh TCP connection as they are (protocol-level garbage that no
    /// HTTP client would send).
    Raw(Vec<u8>),
}

/// One malformed request.
struct Case {
    kind: &'static str,
    wire: Wire,
    allowed: Allowed,
}

/// What came back.
#[derive(Debug)]
enum Outcome {
    Answer {
        status: u16,
        location: Option<String>,
        body: String,
    },
    /// The connection ended without a response (or the request could not be completed).
    Closed(String),
}

/// splitmix64: a seeded, reproducible source of variety without another dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Real material the forgeries are made from.
struct Fixtures {
    access_token: String,
    id_token: String,
    refresh_token: String,
    kid: String,
    /// the RSA modulus of the signing key, the classic HS256 "secret" of a key-confusion attack
    public_n: Vec<u8>,
}

const JSON_BODIES: &[&str] = &[
    r#"{"grant_type":"client_credentials","client_id":"webApplicationPlatform"}"#,
    r#"{"token": "abc"}"#,
    r#"{"grant_type": ["a", "b"], "client_id": null}"#,
    r#"{"#,
    r#"{"a":"#,
    r#"[1,2,3"#,
    "null",
    "\"just a string\"",
    r#"{"nested":{"nested":{"nested":{"nested":[[[[[[[[[[]]]]]]]]]]}}}}"#,
    "{\"\u{0}\": \"\u{fffd}\"}",
];

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "text/plain",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "application/json; charset=utf-8",
    "x/x",
    ";;;",
    "application/x-www-form-urlencoded-not",
];

const BAD_FORMS: &[&str] = &[
    "%zz",
    "grant_type=%zz&client_id=%",
    "grant_type=authorization_code&grant_type=refresh_token",
    "grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id=webApplicationPlatform",
    "=&=&&==&",
    "grant_type=%ff%fe%00&client_id=%c3%28",
    "grant_type=password&username=alice&password=x&client_id=webApplicationPlatform",
    "grant_type=implicit&client_id=webApplicationPlatform",
    "grant_type=authorization_code&code=&client_id=webApplicationPlatform",
    "grant_type=authorization_code&code=nope&client_id=webApplicationPlatform&redirect_uri=http://localhost:8080/callback",
    "grant_type=authorization_code&code=nope&client_id=webApplicationPlatform&client_id=MAGICDRAW",
    "grant_type=refresh_token&refresh_token=%00%00&client_id=webApplicationPlatform",
    "grant_type=refresh_token&client_id=webApplicationPlatform",
    "grant_type=client_credentials&client_id=webApplicationPlatform",
    "grant_type=client_credentials&client_id=nobody",
    "grant_type=authorization_code&code=x&client_id=webApplicationPlatform&code_verifier=%ff",
    "client_secret=&client_id=",
    "grant_type",
    "&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&&",
];

/// `Authorization: Basic …` values that are not well-formed credentials (so they fail before
/// any password check and cannot trip the throttle).
fn bad_basic(rng: &mut Rng) -> String {
    let b64 = |b: &[u8]| STANDARD.encode(b);
    match rng.below(10) {
        0 => "Basic !!!not-base64!!!".into(),
        1 => "Basic ".into(),
        2 => "Basic".into(),
        3 => format!("Basic {}", b64(b"no-colon-here")),
        4 => format!("Basic {}", b64(b":empty-user")),
        5 => format!("Basic {}", b64(b"\xff\xfe:\xff")),
        6 => format!("Basic {}", b64(b"ali\nce:x")),
        7 => format!("Basic {}", &b64(b"webApplicationPlatform:x")[1..]),
        8 => format!("Basic {}===", b64(b"webApplicationPlatform:x")),
        _ => format!("Basic {}", "QUFB".repeat(2000)),
    }
}

/// The real access token, mangled.
fn mangled_jwt(rng: &mut Rng, f: &Fixtures) -> String {
    let token = &f.access_token;
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let header_json = |json: String| URL_SAFE_NO_PAD.encode(json);
    match rng.below(12) {
        // truncated anywhere (never at full length)
        0..=2 => token[..rng.below(token.len())].to_string(),
        3 => format!("{header}.{payload}."),
        4 => format!("{header}.{payload}"),
        5 => {
            let mut sig = signature.as_bytes().to_vec();
            let i = rng.below(sig.len());
            sig[i] = if sig[i] == b'A' { b'B' } else { b'A' };
            format!("{header}.{payload}.{}", String::from_utf8(sig).unwrap())
        }
        // alg none (several spellings), with and without a signature
        6 => {
            let alg = *rng.pick(&["none", "None", "NONE", "nOnE", ""]);
            let h = header_json(format!(
                r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{}"}}"#,
                f.kid
            ));
            if rng.chance(50) {
                format!("{h}.{payload}.")
            } else {
                format!("{h}.{payload}.{signature}")
            }
        }
        // HS256 signed with the public key: the key-confusion forgery
        7 => {
            let claims = jwt_parts(token).1;
            let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
            h.kid = Some(f.kid.clone());
            h.typ = Some("at+jwt".into());
            jsonwebtoken::encode(
                &h,
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(&f.public_n),
            )
            .unwrap()
        }
        // wrong, hostile or missing kid over the real signature
        8 => {
            let kid = *rng.pick(&[
                "\"nope\"",
                "\"\"",
                "\"../../../../etc/passwd\"",
                "123",
                "null",
                "[\"a\"]",
            ]);
            let h = header_json(format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":{kid}}}"#));
            format!("{h}.{payload}.{signature}")
        }
        9 => {
            let h = header_json(format!(
                r#"{{"alg":"RS256","typ":"at+jwt","kid":"{}"}}"#,
                "k".repeat(10_000)
            ));
            format!("{h}.{payload}.{signature}")
        }
        // a real header over forged claims
        10 => {
            let mut claims = jwt_parts(token).1;
            claims["sub"] = Value::String("admin".into());
            claims["exp"] = Value::from(i64::MAX);
            format!(
                "{header}.{}.{signature}",
                URL_SAFE_NO_PAD.encode(claims.to_string())
            )
        }
        // not base64 / not JSON at all
        _ => rng
            .pick(&[
                "a.b.c",
                "....",
                "%%%.%%%.%%%",
                "eyJ.eyJ.eyJ",
                "@.@.@",
                "a.b.c.d.e",
            ])
            .to_string(),
    }
}

/// An `/authorize` query with at least one fatal flaw, plus random junk.
fn junk_authorize_query(rng: &mut Rng) -> String {
    let mut params: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), CLIENT.into()),
        ("redirect_uri".into(), REDIRECT.into()),
        ("scope".into(), "openid".into()),
        ("state".into(), "s".into()),
    ];
    let set = |params: &mut Vec<(String, String)>, k: &str, v: String| {
        params.retain(|(name, _)| name != k);
        params.push((k.to_string(), v));
    };
    match rng.below(16) {
        0 => params.retain(|(k, _)| k != "client_id"),
        1 => set(&mut params, "client_id", "evil-client".into()),
        2 => set(&mut params, "client_id", "\u{fffd}\u{0}".into()),
        3 => set(
            &mut params,
            "redirect_uri",
            (*rng.pick(&[
                "https://evil.net/cb",
                "http://localhost:8080.evil.net/callback",
                "http://localhost:8080@evil.net/callback",
                "http://localhost:8080/callback/../x",
                "http://localhost:8080/callback/..;/x",
                "http://localhost:8080/callback?code=INJECTED",
                "http://localhost:8080/callback#frag",
                "HTTP://localhost:8080/callback",
                "javascript:alert(1)",
                "",
                "%ff",
            ]))
            .to_string(),
        ),
        4 => params.retain(|(k, _)| k != "redirect_uri"),
        5 => set(
            &mut params,
            "response_type",
            (*rng.pick(&["token", "id_token", "code token", "", "CODE"])).to_string(),
        ),
        6 => params.retain(|(k, _)| k != "response_type"),
        7 => set(&mut params, "response_mode", "fragment".into()),
        8 => set(&mut params, "scope", "profile email".into()),
        9 => {
            set(&mut params, "code_challenge", "short".into());
            set(&mut params, "code_challenge_method", "plain".into());
        }
        10 => set(&mut params, "code_challenge_method", "S256".into()),
        11 => set(&mut params, "prompt", "bogus".into()),
        12 => set(&mut params, "request", "eyJhbGciOiJub25lIn0.e30.".into()),
        13 => set(&mut params, "nonce", "n".repeat(600)),
        14 => set(&mut params, "state", "s".repeat(3000)),
        // sent twice: client_id (page) or state (redirect)
        _ => {
            let name = if rng.chance(50) { "client_id" } else { "state" };
            params.push((name.into(), "again".into()));
        }
    }
    let mut query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    for _ in 0..rng.below(4) {
        query.push('&');
        let junk: &&str = rng.pick(&[
            "junk=%ff%fe",
            "%zz=%zz",
            "=",
            "display=%00",
            "claims=%7B%22x%22",
            "ui_locales=xx-XX",
            "a[]=1",
        ]);
        query.push_str(junk);
    }
    query
}

fn raw_request(rng: &mut Rng, host: &str) -> (Vec<u8>, Allowed) {
    let r = |s: &str| s.as_bytes().to_vec();
    let bytes = match rng.below(11) {
        // invalid UTF-8 straight in the request target
        0 => [
            &b"GET /authentication/authorize?client_id=\xff\xfe&redirect_uri=\xc3\x28 HTTP/1.1\r\nHost: "[..],
            host.as_bytes(),
            b"\r\n\r\n",
        ]
        .concat(),
        1 => [
            &b"GET /authentication/\xff\xfe\x80 HTTP/1.1\r\nHost: "[..],
            host.as_bytes(),
            b"\r\n\r\n",
        ]
        .concat(),
        2 => r("NOT-HTTP AT ALL\r\n\r\n"),
        3 => r("GET / HTTP/9.9\r\n\r\n"),
        4 => r(&format!(
            "POST /authentication/api/token HTTP/1.1\r\nHost: {host}\r\nContent-Length: abc\r\n\r\n"
        )),
        5 => r(&format!(
            "POST /authentication/api/token HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello"
        )),
        6 => r(&format!(
            "GET /authentication/api/validate HTTP/1.1\r\nHost: {host}\r\nNo-Colon-Here\r\n\r\n"
        )),
        7 => [
            format!("GET /authentication/api/validate HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer ").as_bytes(),
            b"\x00\x01\x02",
            b"\r\n\r\n",
        ]
        .concat(),
        // obs-text (bytes >= 0x80) in header values: legal HTTP, not UTF-8
        8 => [
            format!("GET /authentication/api/validate HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer ").as_bytes(),
            b"\xff\xfe\xc3\x28.\xe9.\x80",
            b"\r\nCookie: authserver_sso=\xff\r\n\r\n",
        ]
        .concat(),
        9 => [
            format!("POST /authentication/api/token HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Auth-Secret: ").as_bytes(),
            b"\xe9\xff",
            b"\r\nContent-Length: 40\r\n\r\ngrant_type=client_credentials&client_id=",
        ]
        .concat(),
        _ => r(&format!(
            "POST /authentication/api/token HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n"
        )),
    };
    (bytes, Allowed::ClientError)
}

/// Builds malformed request number `i`.
fn malformed(i: usize, app: &TestApp, f: &Fixtures) -> Case {
    let mut rng = Rng(0x5EED_0000 + i as u64);
    let client = bare_client();
    let url = |path: &str| app.url(path);
    let form_ct = "application/x-www-form-urlencoded";
    let case = |kind, req, allowed| Case {
        kind,
        wire: Wire::Http(Box::new(req)),
        allowed,
    };
    use Allowed::*;
    match rng.below(24) {
        0..=2 => {
            let path = *rng.pick(&["/api/token", "/api/introspect", "/api/revoke"]);
            let body = if rng.chance(80) {
                rng.pick(JSON_BODIES).as_bytes().to_vec()
            } else {
                rng.bytes(200)
            };
            let mut req = client
                .post(url(path))
                .header("Content-Type", *rng.pick(CONTENT_TYPES))
                .body(body);
            if rng.chance(50) {
                req = req.header("X-Auth-Secret", SECRET);
            }
            case("json or wrong content type", req, ClientError)
        }
        3..=4 => {
            let mut req = client
                .post(url("/api/token"))
                .header("Content-Type", form_ct)
                .body(*rng.pick(BAD_FORMS));
            if rng.chance(60) {
                req = req.header("X-Auth-Secret", SECRET);
            }
            if rng.chance(20) {
                req = req.header("X-Auth-Secret", "wrong");
            }
            case("bad form", req, ClientError)
        }
        5 => {
            // over the 64 KiB limit: 413, whether announced by Content-Length or not
            let path = *rng.pick(&["/api/token", "/api/introspect", "/login", "/authorize"]);
            let size = if rng.chance(50) { 1 << 20 } else { 65 * 1024 };
            let body = "a=".to_string() + &"x".repeat(size);
            if rng.chance(50) {
                let req = client
                    .post(url(path))
                    .header("Content-Type", form_ct)
                    .body(body);
                case("body over the limit", req, ClientError)
            } else {
                let host = app.address.trim_start_matches("http://");
                let mut raw = format!(
                    "POST /authentication{path} HTTP/1.1\r\nHost: {host}\r\n\
                     Content-Type: {form_ct}\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                .into_bytes();
                for chunk in body.as_bytes().chunks(16 * 1024) {
                    raw.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
                    raw.extend(chunk);
                    raw.extend(b"\r\n");
                }
                raw.extend(b"0\r\n\r\n");
                Case {
                    kind: "chunked body over the limit",
                    wire: Wire::Raw(raw),
                    allowed: ClientError,
                }
            }
        }
        6 => {
            let (path, value) = if rng.chance(50) {
                ("/api/validate", format!("Bearer {}", "A".repeat(64 * 1024)))
            } else {
                ("/api/token", format!("Basic {}", "QUFB".repeat(16 * 1024)))
            };
            let req = client
                .post(url(path))
                .header("Authorization", value)
                .header("X-Pad", "p".repeat(rng.below(8 * 1024)));
            case("64 KB header", req, ClientErrorOrClosed)
        }
        7 => {
            let target = match rng.below(5) {
                0 => url("/authorize?client_id=%ff%fe&redirect_uri=%c3%28&response_type=%80"),
                1 => url(&format!(
                    "/authorize?client_id={CLIENT}&redirect_uri={}&response_type=%ff&state=%c3%28",
                    urlencode(REDIRECT)
                )),
                2 => url("/api/validate?access_token=%ff%fe"),
                3 => url("/api/token?grant_type=%ff%fe&client_id=%c0%af"),
                _ => url("/api/userinfo?%ff=%fe"),
            };
            // a redirect carrying an error is a refusal only at /authorize
            let allowed = if target.contains("/authorize") {
                ClientErrorOrErrorRedirect
            } else {
                ClientError
            };
            let req = if target.contains("/api/token") {
                client.post(target).header("X-Auth-Secret", SECRET)
            } else {
                client.get(target)
            };
            case("invalid UTF-8 in the query", req, allowed)
        }
        8 => {
            let path = *rng.pick(&["/api/token", "/api/introspect", "/api/revoke", "/login"]);
            let mut body = b"grant_type=\xff\xfe&client_id=\xc3\x28&token=\x80&".to_vec();
            body.extend(rng.bytes(100));
            let req = client
                .post(url(path))
                .header("Content-Type", form_ct)
                .body(body);
            case("invalid UTF-8 in the body", req, ClientError)
        }
        9..=10 => {
            let path = *rng.pick(&["/api/token", "/api/introspect", "/api/revoke"]);
            let body = if path == "/api/token" {
                "grant_type=authorization_code&code=x&client_id=webApplicationPlatform"
            } else {
                "token=x&client_id=webApplicationPlatform"
            };
            let req = client
                .post(url(path))
                .header("Content-Type", form_ct)
                .header("Authorization", bad_basic(&mut rng))
                .body(body);
            case("bad Basic", req, ClientError)
        }
        11..=14 => {
            let token = mangled_jwt(&mut rng, f);
            let req = match rng.below(4) {
                0 => client
                    .get(url("/api/validate"))
                    .header("Authorization", format!("Bearer {token}")),
                1 => client
                    .post(url("/api/validate"))
                    .header("Authorization", format!("Token {token}")),
                2 => client
                    .get(url("/api/userinfo"))
                    .header("Authorization", format!("Bearer {token}")),
                _ => client
                    .post(url("/api/userinfo"))
                    .header("Content-Type", form_ct)
                    .body(format!("access_token={}", urlencode(&token))),
            };
            case("forged or mangled JWT", req, ClientError)
        }
        15 => {
            let token = mangled_jwt(&mut rng, f);
            let req = client
                .post(url("/api/introspect"))
                .header("X-Auth-Secret", SECRET)
                .header("Content-Type", form_ct)
                .body(format!("token={}&client_id={CLIENT}", urlencode(&token)));
            case("introspection of a forged JWT", req, InactiveIntrospection)
        }
        16 => {
            let value = match rng.below(8) {
                0 => "Bearer".to_string(),
                1 => "Bearer ".to_string(),
                2 => "Token    ".to_string(),
                3 => bad_basic(&mut rng),
                4 => format!("Negotiate {}", "Y".repeat(100)),
                5 => format!("Bearer {}", f.refresh_token),
                6 => format!("Bearer {} {}", f.access_token, f.access_token),
                _ => format!("bearer {}", String::from_utf8_lossy(&rng.bytes(50)))
                    .replace(|c: char| !c.is_ascii_graphic(), "x"),
            };
            let path = *rng.pick(&["/api/validate", "/api/userinfo", "/api/users"]);
            let req = client.get(url(path)).header("Authorization", value);
            case("garbage Authorization", req, ClientError)
        }
        17..=18 => {
            let query = junk_authorize_query(&mut rng);
            let req = if rng.chance(70) {
                client.get(format!("{}?{query}", url("/authorize")))
            } else {
                client
                    .post(url("/authorize"))
                    .header("Content-Type", form_ct)
                    .body(query)
            };
            case(
                "junk authorization request",
                req,
                ClientErrorOrErrorRedirect,
            )
        }
        19 => {
            let csrf = "c".repeat(43);
            let mut body = match rng.below(4) {
                0 => format!("rid=nope&csrf={csrf}&username=alice&password=x"),
                1 => format!("rid=&csrf={csrf}&csrf={csrf}"),
                2 => "rid=x&csrf=wrong&username=alice&password=x".to_string(),
                _ => String::from_utf8_lossy(&rng.bytes(200)).into_owned(),
            };
            if rng.chance(20) {
                body.push_str("&username=%ff%fe&password=%00");
            }
            let mut req = client
                .post(url("/login"))
                .header("Content-Type", form_ct)
                .body(body);
            if rng.chance(70) {
                req = req.header("Cookie", format!("authserver_csrf={csrf}"));
            }
            case("garbage sign-in form", req, ClientError)
        }
        20 => {
            let (bytes, allowed) = raw_request(&mut rng, app.address.trim_start_matches("http://"));
            Case {
                kind: "broken HTTP",
                wire: Wire::Raw(bytes),
                allowed,
            }
        }
        21 => {
            let req = match rng.below(6) {
                0 => client.get(url("/api/token")),
                1 => client.delete(url("/api/validate")),
                2 => client.put(url("/authorize")),
                3 => client.get(url("/../../../../etc/passwd")),
                4 => client.get(format!("{}/authentication/%ff%fe/%2e%2e/x", app.address)),
                _ => client.patch(url("/api/introspect")),
            };
            case("wrong method or path", req, ClientError)
        }
        22 => {
            let body = *rng.pick(JSON_BODIES);
            let req = client
                .post(url("/api/users"))
                .header("Content-Type", "application/json")
                .header(
                    "Authorization",
                    format!("Bearer {}", mangled_jwt(&mut rng, f)),
                )
                .body(body);
            case("management API without a real token", req, ClientError)
        }
        _ => {
            let token = match rng.below(4) {
                0 => f.refresh_token[..rng.below(f.refresh_token.len())].to_string(),
                1 => f.id_token.clone(),
                2 => mangled_jwt(&mut rng, f),
                _ => String::from_utf8_lossy(&rng.bytes(64)).into_owned(),
            };
            let req = client
                .post(url("/api/token"))
                .header("X-Auth-Secret", SECRET)
                .header("Content-Type", form_ct)
                .body(format!(
                    "grant_type=refresh_token&client_id={CLIENT}&refresh_token={}",
                    urlencode(&token)
                ));
            case("refresh with a bad refresh token", req, ClientError)
        }
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn send(wire: Wire, address: &str) -> Outcome {
    match wire {
        Wire::Http(req) => match req.timeout(Duration::from_secs(15)).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let location = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = resp.text().await.unwrap_or_default();
                Outcome::Answer {
                    status,
                    location,
                    body,
                }
            }
            Err(e) => {
                assert!(!e.is_builder(), "the test built an invalid request: {e}");
                Outcome::Closed(e.to_string())
            }
        },
        Wire::Raw(bytes) => raw_exchange(address, &bytes).await,
    }
}

/// Writes `bytes` to a new connection and reads the status line of the answer.
async fn raw_exchange(address: &str, bytes: &[u8]) -> Outcome {
    let attempt = async {
        let stream = tokio::net::TcpStream::connect(address).await?;
        let (mut stream, mut writer) = stream.into_split();
        // the server may answer (413) and close before the body is all written: the
        // write error is not the outcome, the answer is
        let bytes = bytes.to_vec();
        let write = tokio::spawn(async move {
            let _ = writer.write_all(&bytes).await;
            writer
        });
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        drop(write);
        Ok::<_, std::io::Error>(buf)
    };
    match tokio::time::timeout(Duration::from_secs(15), attempt).await {
        Ok(Ok(buf)) => {
            let head = String::from_utf8_lossy(&buf).into_owned();
            let status = head
                .strip_prefix("HTTP/1.1 ")
                .or_else(|| head.strip_prefix("HTTP/1.0 "))
                .and_then(|rest| rest.get(..3))
                .and_then(|code| code.parse().ok());
            match status {
                Some(status) => Outcome::Answer {
                    status,
                    location: None,
                    body: head,
                },
                None => Outcome::Closed(format!("no status line: {head:?}")),
            }
        }
        Ok(Err(e)) => Outcome::Closed(e.to_string()),
        Err(_) => Outcome::Closed("no answer within 15 s".into()),
    }
}

/// Whether `outcome` is an acceptable answer to a malformed request.
fn acceptable(allowed: Allowed, outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Answer { status, .. } if (400..500).contains(status) => {
            allowed != Allowed::InactiveIntrospection
        }
        Outcome::Answer {
            status, location, ..
        } if (300..400).contains(status) => {
            allowed == Allowed::ClientErrorOrErrorRedirect
                && location.as_deref().is_some_and(|l| {
                    l.starts_with(REDIRECT) && crate::helpers::query_param(l, "error").is_some()
                })
        }
        Outcome::Answer {
            status: 200, body, ..
        } => {
            allowed == Allowed::InactiveIntrospection
                && serde_json::from_str::<Value>(body)
                    .is_ok_and(|v| v == serde_json::json!({"active": false}))
        }
        Outcome::Closed(_) => allowed == Allowed::ClientErrorOrClosed,
        Outcome::Answer { .. } => false,
    }
}

/// The valid requests interleaved with the flood: discovery, a client_credentials sign-in
/// and the validation of a real token must all answer 200.
async fn valid_requests(app: &TestApp, access_token: &str) -> Result<(), String> {
    let discovery = bare_client()
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .map_err(|e| format!("discovery: {e}"))?;
    if discovery.status() != 200 {
        return Err(format!("discovery answered {}", discovery.status()));
    }
    let cc = client_credentials(app, CLIENT, USER, PASSWORD).await;
    let status = cc.status();
    let body: Value = cc.json().await.unwrap_or_default();
    if status != 200 || body["access_token"].as_str().is_none() {
        return Err(format!("client_credentials answered {status}: {body}"));
    }
    let fresh = body["access_token"].as_str().unwrap_or_default();
    for token in [access_token, fresh] {
        let got = app.validate_status("Bearer", token).await;
        if got != 200 {
            return Err(format!("/api/validate of a real token answered {got}"));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_malformed_requests_get_4xx_while_valid_requests_keep_working() {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    let tokens = app.tokens_for(USER, PASSWORD).await;
    let (header, _) = jwt_parts(field(&tokens, "access_token"));
    let jwks: Value = bare_client()
        .get(app.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = header["kid"].as_str().unwrap().to_string();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap();
    let fixtures = Fixtures {
        access_token: field(&tokens, "access_token").to_string(),
        id_token: field(&tokens, "id_token").to_string(),
        refresh_token: field(&tokens, "refresh_token").to_string(),
        kid,
        public_n: URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap(),
    };
    valid_requests(&app, &fixtures.access_token).await.unwrap();

    let started = Instant::now();
    let address = app.address.trim_start_matches("http://").to_string();
    enum Job {
        Malformed(usize),
        Valid,
    }
    enum Done {
        Malformed(&'static str, Allowed, Outcome),
        Valid(Result<(), String>),
    }
    let jobs = (0..MALFORMED).flat_map(|i| {
        let valid = (i % VALID_EVERY == 0).then_some(Job::Valid);
        valid.into_iter().chain(std::iter::once(Job::Malformed(i)))
    });
    let results: Vec<Done> = futures::stream::iter(jobs)
        .map(|job| {
            let app = &app;
            let fixtures = &fixtures;
            let address = &address;
            async move {
                match job {
                    Job::Malformed(i) => {
                        let case = malformed(i, app, fixtures);
                        let outcome = send(case.wire, address).await;
                        Done::Malformed(case.kind, case.allowed, outcome)
                    }
                    Job::Valid => Done::Valid(valid_requests(app, &fixtures.access_token).await),
                }
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let mut by_kind: BTreeMap<(&str, String), usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut valid_failures = Vec::new();
    let mut valid_count = 0;
    for done in results {
        match done {
            Done::Malformed(kind, allowed, outcome) => {
                let label = match &outcome {
                    Outcome::Answer { status, .. } => status.to_string(),
                    Outcome::Closed(why) => format!("closed ({why})"),
                };
                *by_kind.entry((kind, label)).or_default() += 1;
                if !acceptable(allowed, &outcome) {
                    wrong.push(format!("{kind} ({allowed:?}): {outcome:?}"));
                }
            }
            Done::Valid(result) => {
                valid_count += 1;
                if let Err(e) = result {
                    valid_failures.push(e);
                }
            }
        }
    }
    println!(
        "{MALFORMED} malformed requests and {valid_count} rounds of valid ones in {elapsed:?}"
    );
    for ((kind, status), n) in &by_kind {
        println!("  {kind:<40} {status:>6} x{n}");
    }
    assert_eq!(by_kind.values().sum::<usize>(), MALFORMED);
    assert!(
        wrong.is_empty(),
        "{} malformed requests got a wrong answer, e.g.:\n{}",
        wrong.len(),
        wrong
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        valid_failures.is_empty(),
        "valid requests failed during the flood: {valid_failures:?}"
    );
    assert_eq!(valid_count, MALFORMED / VALID_EVERY);
    // and afterwards, too
    valid_requests(&app, &fixtures.access_token).await.unwrap();
}

/// Sends a request with a `len`-byte form body to `/api/token`; returns the status.
async fn token_status_with_body_of(app: &TestApp, len: usize) -> u16 {
    let body = "a=".to_string() + &"x".repeat(len - 2);
    bare_client()
        .post(app.url("/api/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Request size limits: bodies over `MAX_BODY_BYTES` get 413 (one byte under is read and
/// judged), a header block over hyper's buffer gets 431 or a closed connection, and
/// connections that stall mid-headers or mid-body hold up nobody else.
///
/// The `TimeoutLayer` that finally answers a stalled request (408 after 30 s) is not waited
/// for here: no test may take that long. What is checked is what matters while it runs:
/// stalled connections cost the other clients nothing.
#[tokio::test]
async fn oversized_requests_are_refused_and_stalled_ones_block_nobody() {
    let app = spawn_app().await;
    app.add_user(USER, PASSWORD).await;
    let tokens = app.tokens_for(USER, PASSWORD).await;
    let access_token = field(&tokens, "access_token").to_string();
    let limit = authserver::startup::MAX_BODY_BYTES;

    assert_eq!(token_status_with_body_of(&app, limit).await, 400);
    assert_eq!(token_status_with_body_of(&app, limit + 1).await, 413);
    assert_eq!(token_status_with_body_of(&app, 8 << 20).await, 413);

    // 1 MiB of headers: over hyper's buffer (about 400 KiB)
    let mut req = bare_client().get(app.url("/api/validate"));
    for i in 0..16 {
        req = req.header(format!("X-Pad-{i}"), "p".repeat(64 * 1024));
    }
    match req.send().await {
        Ok(resp) => assert_eq!(resp.status(), 431, "a 1 MiB header block"),
        // hyper may close the connection instead of answering
        Err(e) => {
            assert!(!e.is_builder(), "{e}");
            println!("a 1 MiB header block: connection closed ({e})");
        }
    }

    // 64 connections stall: half in their headers, half in their bodies
    let address = app.address.trim_start_matches("http://").to_string();
    let mut stalled = Vec::new();
    for i in 0..64 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let head = if i % 2 == 0 {
            format!("POST /authentication/api/token HTTP/1.1\r\nHost: {address}\r\nX-Slow: ")
        } else {
            format!(
                "POST /authentication/api/token HTTP/1.1\r\nHost: {address}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: 1000\r\n\r\ngrant_type="
            )
        };
        stream.write_all(head.as_bytes()).await.unwrap();
        stalled.push(stream);
    }
    for _ in 0..5 {
        let started = Instant::now();
        valid_requests(&app, &access_token).await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "valid requests took {:?} beside stalled connections",
            started.elapsed()
        );
    }
    // none of the stalled requests got an answer: they were not mistaken for complete ones
    for stream in &mut stalled {
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_millis(20), stream.read(&mut buf)).await;
        assert!(read.is_err(), "a stalled request was answered early");
    }
}
