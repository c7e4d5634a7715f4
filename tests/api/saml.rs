//! SAML single sign-on against a real identity provider in a real browser: SimpleSAMLphp
//! (Debian's package, `tests/api/saml_idp.rs`) is the identity provider, headless Chromium
//! (`tests/browser/saml_login.mjs`) goes from our authorization request to our login page,
//! clicks the single sign-on button, signs in on SimpleSAMLphp's own login page, lets its
//! page post the response to our assertion consumer, and lands back at the client with
//! our code.
//!
//! Needs what the browser tests need plus SimpleSAMLphp and PHP (`.ci/run` installs them);
//! skipped without them, failed with `CI=true`.
use serde_json::Value;

use crate::browser::{browser_available, run_node_script};
use crate::helpers::{
    html_unescape, jwt_parts, pkce_pair, query_param, AppBuilder, TestApp, REDIRECT,
};
use crate::saml_forge::key_pair;
use crate::saml_idp::{simplesamlphp_available, SamlIdp, SpForIdp};

const BUTTON: &str = "Company single sign-on";

fn available(test: &str) -> bool {
    browser_available(test) && simplesamlphp_available(test)
}

/// One sign-in in a fresh browser; returns (our code, our PKCE verifier, ms it took, the
/// pages the browser saw).
async fn sign_in(app: &TestApp, button: &str, user: &str, password: &str) -> (String, String, u64) {
    let (verifier, challenge) = pkce_pair();
    let url = app.authorize_url(&challenge, &[]);
    let (stdout, stderr) =
        run_node_script("saml_login.mjs", &[&url, button, user, password], 90).await;
    let json: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("saml_login.mjs printed ({e}):\n{stdout}\nstderr: {stderr}"));
    let landed = json["url"].as_str().unwrap();
    assert!(
        landed.starts_with(REDIRECT),
        "the browser ended at {landed} ({}: {}), pages: {}",
        json["title"],
        json["error_text"],
        json["pages"]
    );
    assert_eq!(query_param(landed, "state").as_deref(), Some("st4te"));
    let pages = json["pages"].to_string();
    assert!(
        pages.contains("loginuserpass"),
        "SimpleSAMLphp's own login page was shown: {pages}"
    );
    (
        query_param(landed, "code").expect("our code"),
        verifier,
        json["ms"].as_u64().unwrap_or_default(),
    )
}

/// The claims of the ID token of a code.
async fn id_claims(app: &TestApp, code: &str, verifier: &str) -> Value {
    let resp = app.exchange(code, verifier).await;
    assert_eq!(resp.status(), 200);
    let tokens: Value = resp.json().await.unwrap();
    let (_, id) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], app.issuer.as_str(), "our own token");
    id
}

#[tokio::test]
async fn a_browser_signs_in_through_simplesamlphp_with_an_encrypted_assertion() {
    let test = "saml::a_browser_signs_in_through_simplesamlphp_with_an_encrypted_assertion";
    if !available(test) {
        return;
    }
    let keys = tempfile::tempdir().unwrap();
    let (sp_key, sp_cert) = key_pair(keys.path(), "authserver SAML SP");
    let sp_cert_path = keys.path().join("sp-cert.pem");
    std::fs::write(&sp_cert_path, &sp_cert).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!(
        "http://127.0.0.1:{}/authentication",
        listener.local_addr().unwrap().port()
    );
    let entity_id = format!("{base}/saml2/metadata");
    let acs = format!("{base}/saml2/acs");
    // at `localhost`, another site than ours at 127.0.0.1: its page's POST to our
    // assertion consumer is cross-site, as a real identity provider's is (our SameSite
    // cookies do not come with it)
    let idp = SamlIdp::start_as(
        &SpForIdp {
            entity_id: &entity_id,
            acs_url: &acs,
            encryption_cert_pem: Some(&sp_cert),
            // SimpleSAMLphp refuses our requests unless they carry our valid signature
            requests_signed_with: Some(&sp_cert),
        },
        "localhost",
    );
    let app = AppBuilder::new()
        .listener(listener)
        .set("authentication.saml.enabled", "true")
        // read over HTTP from SimpleSAMLphp itself
        .set("authentication.saml.idp.metadata.url", &idp.metadata_url)
        .set("authentication.saml.link", BUTTON)
        .set("authentication.saml.sp.key", &sp_key.display().to_string())
        .set(
            "authentication.saml.sp.certificate",
            &sp_cert_path.display().to_string(),
        )
        .set("authentication.saml.attribute.groups", "groups")
        .set("authentication.saml.admin.group", "twc-admins")
        .spawn()
        .await;

    // our metadata names the assertion consumer and our certificate
    let metadata = app
        .client
        .get(app.url("/saml2/metadata"))
        .send()
        .await
        .unwrap();
    assert_eq!(metadata.status(), 200);
    let metadata = metadata.text().await.unwrap();
    assert!(metadata.contains(&acs), "{metadata}");
    assert!(metadata.contains(&entity_id), "{metadata}");
    let cert_b64: String = sp_cert
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(metadata.contains(&cert_b64), "{metadata}");

    // our request is signed, and SimpleSAMLphp checks it: without the signature it refuses
    let (_, challenge) = pkce_pair();
    let page = app.login_page(&app.authorize_url(&challenge, &[])).await;
    let start = page.find("/saml2/login?rid=").expect("the SSO button");
    let href = html_unescape(&page[start..start + page[start..].find('"').unwrap()]);
    let resp = app.client.get(app.url(&href)).send().await.unwrap();
    let signed = crate::helpers::location(&resp);
    assert_eq!(
        query_param(&signed, "SigAlg").as_deref(),
        Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    );
    let unsigned = {
        let mut url = url::Url::parse(&signed).unwrap();
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "Signature" && k != "SigAlg")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(kept);
        url.to_string()
    };
    let idp_client = crate::helpers::bare_client();
    let refused = idp_client.get(&unsigned).send().await.unwrap();
    assert!(
        !refused.status().is_redirection(),
        "SimpleSAMLphp accepted an unsigned request: {}",
        refused.status()
    );
    let accepted = idp_client.get(&signed).send().await.unwrap();
    assert_eq!(
        accepted.status(),
        302,
        "SimpleSAMLphp accepts our signed request"
    );

    let (code, verifier, ms) = sign_in(&app, BUTTON, "alice", "alice-password").await;
    let id = id_claims(&app, &code, &verifier).await;
    assert_eq!(id["sub"], "alice");
    assert_eq!(id["name"], "Alice Liddell");
    assert_eq!(id["email"], "alice@example.org");
    let row = app
        .sql("SELECT COUNT(*) FROM users WHERE username = $1 AND source = 'saml' AND admin = $2")
        .bind("alice")
        .bind(true)
        .i64()
        .await;
    assert_eq!(
        row, 1,
        "alice is a SAML user and, through twc-admins, an administrator"
    );

    // bob is in staff only: signed in, not an administrator
    let (code, verifier, second_ms) = sign_in(&app, BUTTON, "bob", "bob-password").await;
    let id = id_claims(&app, &code, &verifier).await;
    assert_eq!(id["sub"], "bob");
    let admin = app
        .sql("SELECT COUNT(*) FROM users WHERE username = $1 AND source = 'saml' AND admin = $2")
        .bind("bob")
        .bind(false)
        .i64()
        .await;
    assert_eq!(admin, 1);
    // figures for the note (not asserted)
    println!("SAML sign-in through Chromium and SimpleSAMLphp: {ms} ms, then {second_ms} ms");
}

#[tokio::test]
async fn without_a_password_form_the_browser_goes_straight_to_the_identity_provider() {
    let test = "saml::without_a_password_form_the_browser_goes_straight_to_the_identity_provider";
    if !available(test) {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!(
        "http://127.0.0.1:{}/authentication",
        listener.local_addr().unwrap().port()
    );
    let entity_id = "urn:example:authserver";
    let acs = format!("{base}/saml2/acs");
    let idp = SamlIdp::start(&SpForIdp {
        entity_id,
        acs_url: &acs,
        encryption_cert_pem: None,
        requests_signed_with: None,
    });
    let app = AppBuilder::new()
        .listener(listener)
        .set("authentication.saml.enabled", "true")
        .set("authentication.saml.entity.id", entity_id)
        .set(
            "authentication.saml.idp.metadata.file",
            &idp.metadata_file.display().to_string(),
        )
        .set("authentication.saml.name.id.attribute", "uid")
        .set("authentication.disable.credentials", "true")
        .spawn()
        .await;
    // the authorize request redirects to SimpleSAMLphp at once, with a signed-off-nothing
    // (unsigned) HTTP-Redirect AuthnRequest and our RelayState
    let (_, challenge) = pkce_pair();
    let resp = app
        .client
        .get(app.authorize_url(&challenge, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = crate::helpers::location(&resp);
    assert!(location.starts_with(&idp.base_url), "{location}");
    assert!(
        query_param(&location, "SAMLRequest").is_some(),
        "{location}"
    );
    assert!(query_param(&location, "RelayState").is_some(), "{location}");

    let (code, verifier, _) = sign_in(&app, "", "bob", "bob-password").await;
    let id = id_claims(&app, &code, &verifier).await;
    assert_eq!(id["sub"], "bob");
    assert_eq!(id["name"], "Bob Builder");
}
