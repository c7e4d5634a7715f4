//! Load driver for client authentication (issue 15): token or introspection requests of a
//! registered client, authenticated with `client_secret_basic` or with `private_key_jwt`
//! (a freshly signed ES256 assertion per request, which plain load tools cannot make).
//! Used by `bench/clients.sh` and `bench/private_key_jwt.sh`.
//!
//! ```text
//! client_auth_load <issuer> <token|introspect> <shared|basic|jwt> <connections> <seconds> <client_id> <credential>
//! ```
//!
//! `shared` is a properties-file client (`X-Auth-Secret`, `client_id` in the body: not for
//! `token`, whose Teamwork Cloud variant wants a user's credentials too). `<credential>` is
//! the shared secret (`shared`), the client secret (`basic`) or a file holding the client's P-256 key as
//! PKCS#8 DER (`jwt`; its `kid` in `KID`). `token` asks for `client_credentials`
//! (`SCOPE`, default `profile`); `introspect` introspects `TOKEN`. Prints one line:
//! requests, req/s, p50, p99, errors (any answer but 200).
//!
//! `client_auth_load keygen <pkcs8-file> <jwks-file>` makes the `jwt` mode's key.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;

#[path = "support/raw_http.rs"]
mod raw_http;
use raw_http::RawConn;

/// How a request authenticates.
enum Auth {
    /// A properties-file client: `X-Auth-Secret` and `client_id` in the body.
    Shared(String),
    Basic(String),
    Jwt {
        key: jsonwebtoken::EncodingKey,
        header: Box<jsonwebtoken::Header>,
    },
}

fn usage() -> ! {
    eprintln!(
        "usage: client_auth_load <issuer> <token|introspect> <shared|basic|jwt> <connections> <seconds> <client_id> <secret|pkcs8-file>"
    );
    std::process::exit(2);
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `keygen <pkcs8-file> <jwks-file>`: a P-256 key for the `jwt` mode, and the JWK Set to
/// register it with (`kid` from `KID`, default `bench-es256`).
fn keygen(pkcs8_file: &str, jwks_file: &str) {
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("P-256 key");
    let der = pair.to_pkcs8v1().expect("PKCS#8");
    std::fs::write(pkcs8_file, der.as_ref()).expect("the key file");
    // the public key is 04 || x || y
    let point = pair.public_key().as_ref();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwks = serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        "kid": std::env::var("KID").unwrap_or_else(|_| "bench-es256".into()),
        "alg": "ES256", "use": "sig",
    }]});
    std::fs::write(jwks_file, jwks.to_string()).expect("the JWKS file");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "keygen" {
        keygen(&args[2], &args[3]);
        return;
    }
    if args.len() != 8 {
        usage();
    }
    let issuer = args[1].trim_end_matches('/').to_string();
    let endpoint = args[2].clone();
    let connections: usize = args[4].parse().unwrap_or_else(|_| usage());
    let seconds: u64 = args[5].parse().unwrap_or_else(|_| usage());
    let client_id = args[6].clone();
    let auth = match args[3].as_str() {
        "shared" => Auth::Shared(args[7].clone()),
        "basic" => Auth::Basic(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{}", args[7]))
        )),
        "jwt" => {
            let der = std::fs::read(&args[7]).expect("the key file");
            let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
            header.kid = std::env::var("KID").ok();
            Auth::Jwt {
                key: jsonwebtoken::EncodingKey::from_ec_der(&der),
                header: Box::new(header),
            }
        }
        _ => usage(),
    };
    let form = match endpoint.as_str() {
        "token" => format!(
            "grant_type=client_credentials&scope={}",
            std::env::var("SCOPE").unwrap_or_else(|_| "profile".into())
        ),
        "introspect" => format!("token={}", std::env::var("TOKEN").expect("TOKEN")),
        _ => usage(),
    };
    let url = url::Url::parse(&issuer).expect("issuer URL");
    let host = format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port_or_known_default().unwrap_or(80)
    );
    let path = format!("{}/api/{endpoint}", url.path().trim_end_matches('/'));
    let audience = format!("{issuer}/api/token");
    let shared = Arc::new((auth, form, host, path, audience, client_id));
    let counter = Arc::new(AtomicU64::new(0));
    // a prefix per run: assertions of an earlier run against the same database stay unique
    let run = unix_now();

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let shared = shared.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let (auth, form, host, path, audience, client_id) = &*shared;
            let mut conn = RawConn::connect(host).await;
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let request = match auth {
                    Auth::Shared(secret) => {
                        let body = format!("{form}&client_id={client_id}");
                        format!(
                            "POST {path} HTTP/1.1\r\nHost: {host}\r\nX-Auth-Secret: {secret}\r\n\
                             Content-Type: application/x-www-form-urlencoded\r\n\
                             Content-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                    }
                    Auth::Basic(basic) => format!(
                        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {basic}\r\n\
                         Content-Type: application/x-www-form-urlencoded\r\n\
                         Content-Length: {}\r\n\r\n{form}",
                        form.len()
                    ),
                    Auth::Jwt { key, header } => {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let now = unix_now();
                        let claims = serde_json::json!({
                            "iss": client_id, "sub": client_id, "aud": audience,
                            "iat": now, "exp": now + 120, "jti": format!("{run}-{n}"),
                        });
                        let assertion =
                            jsonwebtoken::encode(header, &claims, key).expect("signing");
                        let body = format!(
                            "{form}&client_id={client_id}&client_assertion_type=\
                             urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
                             &client_assertion={assertion}"
                        );
                        format!(
                            "POST {path} HTTP/1.1\r\nHost: {host}\r\n\
                             Content-Type: application/x-www-form-urlencoded\r\n\
                             Content-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                    }
                };
                let (status, response) = conn.round_trip(request.as_bytes()).await;
                latencies.push(t.elapsed().as_micros() as u64);
                if status != 200 {
                    if errors == 0 {
                        eprintln!("first error: {status} {response}");
                    }
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (latencies, e) = t.await.expect("task");
        all.extend(latencies);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "{endpoint} {}: {} requests in {elapsed:.2} s = {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, errors {errors}",
        args[3],
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
}
