//! Smart-card sign-in in a real browser: headless Chromium (`tests/browser/card_login.mjs`)
//! opens our login page over native TLS with a client certificate of the test PKI
//! (`smartcard_pki`), presses "Sign in with your smart card" and lands at the client with
//! our code, or on our error page; without a certificate, a password user signs in on the
//! same port. The card is in an NSS database, where Chromium on Linux keeps client
//! certificates, so Chromium's own TLS presents it; once also through playwright's
//! `clientCertificates` (its proxy presents it), the way playwright users would try first.
//!
//! Needs what the browser tests need plus `openssl`, and `certutil` and `pk12util`
//! (libnss3-tools); skipped without them, failed with `CI=true`.
use serde_json::Value;

use crate::browser::{browser_available, run_node_script};
use crate::helpers::{exchange_code, jwt_parts, pkce_pair, query_param, TestApp, REDIRECT};
use crate::smartcard_pki::{https, pki, tls_app, tls_fixture, tools_available, UserCert};

fn available(test: &str) -> bool {
    browser_available(test)
        && tools_available(
            test,
            &[
                ("openssl", "version"),
                ("certutil", "-H"),
                ("pk12util", "-h"),
            ],
        )
}

/// What the browser does on the login page.
enum Visit<'a> {
    /// Presses the smart-card button with this card in its NSS database.
    CardInNss(&'a UserCert),
    /// Presses the smart-card button with this card in playwright's `clientCertificates`.
    CardViaPlaywright(&'a UserCert),
    /// Presses the smart-card button with no certificate anywhere.
    NoCard,
    /// Signs in with this user name and password, with no certificate anywhere.
    Password(&'a str, &'a str),
}

/// What `card_login.mjs` reports.
struct CardLogin {
    /// Where the browser ended.
    url: String,
    /// The text of our error page's message, if it ended there.
    error_text: Option<String>,
    /// The login page had the smart-card button.
    offers_card: bool,
    /// Time from the authorization request to the end, in ms.
    ms: u64,
    /// The PKCE verifier of the request.
    verifier: String,
}

/// Runs `card_login.mjs` against `app` over TLS.
async fn browser_sign_in(app: &TestApp, visit: Visit<'_>) -> CardLogin {
    let (verifier, challenge) = pkce_pair();
    let url = https(&app.authorize_url(&challenge, &[]));
    let card = |cert: &UserCert, via: &str| {
        [
            "card".to_string(),
            cert.cert.to_str().unwrap().into(),
            cert.key.to_str().unwrap().into(),
            format!("--via={via}"),
        ]
    };
    let mut args = vec![url];
    match visit {
        Visit::CardInNss(cert) => args.extend(card(cert, "nss")),
        Visit::CardViaPlaywright(cert) => args.extend(card(cert, "playwright")),
        Visit::NoCard => args.push("card".into()),
        Visit::Password(user, password) => {
            args.extend(["password".into(), user.into(), password.into()]);
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (stdout, stderr) = run_node_script("card_login.mjs", &args, 90).await;
    let json: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("card_login.mjs printed ({e}):\n{stdout}\nstderr: {stderr}"));
    CardLogin {
        url: json["url"].as_str().expect("url").to_owned(),
        error_text: json["error_text"].as_str().map(str::to_owned),
        offers_card: json["offers_card"].as_bool().expect("offers_card"),
        ms: json["ms"].as_u64().expect("ms"),
        verifier,
    }
}

/// Exchanges the code the browser landed with, over TLS; returns the ID token's claims.
async fn id_token_claims(app: &TestApp, login: &CardLogin) -> Value {
    let code = query_param(&login.url, "code").expect("a code");
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(tls_fixture("ca.pem")).unwrap()).unwrap(),
        )
        .build()
        .unwrap();
    let resp = exchange_code(
        &client,
        &https(&app.url("/api/token")),
        &code,
        &login.verifier,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    jwt_parts(tokens["id_token"].as_str().expect("an ID token")).1
}

/// Asserts the browser landed at the client with a code; returns the ID token's claims.
async fn landed_at_the_client(app: &TestApp, login: &CardLogin) -> Value {
    assert!(
        login.url.starts_with(REDIRECT),
        "the browser ended at {} ({:?})",
        login.url,
        login.error_text
    );
    assert_eq!(query_param(&login.url, "state").as_deref(), Some("st4te"));
    id_token_claims(app, login).await
}

#[tokio::test]
async fn chromium_presents_a_smart_card_from_its_nss_database_and_lands_at_the_client_as_its_user()
{
    let test = "browser_card::chromium_presents_a_smart_card_from_its_nss_database";
    if !available(test) {
        return;
    }
    let pki = pki();
    let app = tls_app(&pki, &[]).await;
    let nss = browser_sign_in(&app, Visit::CardInNss(&pki.john)).await;
    let claims = landed_at_the_client(&app, &nss).await;
    // username.template = (O)-(CN) over CN=JohnDoe,O=MyCompany,C=GB
    assert_eq!(claims["sub"], "MyCompany-JohnDoe");
    assert_eq!(claims["name"], "JohnDoe");

    let proxied = browser_sign_in(&app, Visit::CardViaPlaywright(&pki.fay)).await;
    let claims = landed_at_the_client(&app, &proxied).await;
    assert_eq!(claims["sub"], "MyCompany-FayFresh");
    // figures for the report (not asserted)
    println!(
        "smart-card sign-in through Chromium: {} ms (NSS database), {} ms (playwright's proxy)",
        nss.ms, proxied.ms
    );
}

#[tokio::test]
async fn chromium_with_a_revoked_card_ends_on_the_page_saying_it_is_revoked() {
    let test = "browser_card::chromium_with_a_revoked_card_ends_on_the_page_saying_it_is_revoked";
    if !available(test) {
        return;
    }
    let pki = pki();
    let app = tls_app(&pki, &[]).await;
    let login = browser_sign_in(&app, Visit::CardInNss(&pki.revoked)).await;
    assert!(!login.url.starts_with(REDIRECT), "{}", login.url);
    assert!(query_param(&login.url, "code").is_none(), "{}", login.url);
    let error = login.error_text.unwrap_or_default();
    assert!(error.contains("has been revoked"), "{error}");
}

#[tokio::test]
async fn chromium_without_a_card_signs_in_with_a_password_and_the_card_button_says_none_was_presented(
) {
    let test = "browser_card::chromium_without_a_card_signs_in_with_a_password";
    if !available(test) {
        return;
    }
    let pki = pki();
    let app = tls_app(&pki, &[]).await;
    app.add_user("alice", "alice-password-1").await;
    let login = browser_sign_in(&app, Visit::Password("alice", "alice-password-1")).await;
    assert!(login.offers_card, "the same login page offers the card");
    let claims = landed_at_the_client(&app, &login).await;
    assert_eq!(claims["sub"], "alice");

    let login = browser_sign_in(&app, Visit::NoCard).await;
    assert!(query_param(&login.url, "code").is_none(), "{}", login.url);
    let error = login.error_text.unwrap_or_default();
    assert!(error.contains("No certificate was presented"), "{error}");
}
