//! The desktop modeling client's implicit sign-in in a real browser: headless Chromium,
//! driven by `tests/browser/implicit.mjs`, signs in and ends at `https://md_redirect`
//! (answered inside the browser), where the tokens are read from the final URL's fragment
//! or from the form the server's page posted. Skipped without Chromium and node_modules,
//! except with `CI` set (see `browser.rs`).

use crate::browser::{browser_available, run_node_script};
use crate::helpers::*;
use crate::implicit::{implicit_app, DESKTOP, MD_REDIRECT};

const USER: &str = "modeler";
const PASSWORD: &str = "modeler-password-1";

/// What `implicit.mjs` reports.
#[derive(Debug)]
struct Run {
    url: String,
    posted: Option<(String, String)>,
    again_url: String,
    again_form: bool,
}

async fn run_browser(authorize_url: &str) -> Run {
    let (stdout, stderr) = run_node_script(
        "implicit.mjs",
        &[authorize_url, USER, PASSWORD, MD_REDIRECT],
        90,
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON line ({e}): {stdout}\nstderr: {stderr}"));
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    Run {
        url: text(&json["url"]),
        posted: json["posted"]
            .is_object()
            .then(|| (text(&json["posted"]["url"]), text(&json["posted"]["body"]))),
        again_url: text(&json["again_url"]),
        again_form: json["again_form"].as_bool().unwrap_or(true),
    }
}

fn authorize(app: &TestApp, extra: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in [
            ("response_type", "id_token token"),
            ("client_id", DESKTOP),
            ("redirect_uri", MD_REDIRECT),
            ("scope", "openid profile"),
            ("state", "br0wser"),
            ("nonce", "n-0S6_WzA2Mj"),
        ] {
            q.append_pair(k, v);
        }
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

fn pairs(encoded: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(encoded.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Checks one set of response parameters: both tokens, bound to each other and the request.
async fn check_tokens(app: &TestApp, params: &[(String, String)]) {
    assert_eq!(get(params, "state"), Some("br0wser"), "{params:?}");
    assert_eq!(get(params, "refresh_token"), None);
    assert_eq!(get(params, "expires_in"), Some("86400"));
    let access = get(params, "access_token").expect("access_token");
    let (_, id) = jwt_parts(get(params, "id_token").expect("id_token"));
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(id["aud"], DESKTOP);
    assert_eq!(id["sub"], USER);
    assert_eq!(
        id["at_hash"],
        authserver::domain::tokens::id_token_hash(
            access,
            authserver::config::SigningAlgorithm::RS256
        )
        .as_str()
    );
    assert_eq!(app.validate_status("Bearer", access).await, 200);
}

#[tokio::test]
async fn chromium_signs_the_desktop_client_in_and_ends_at_md_redirect_with_the_tokens_in_the_fragment(
) {
    if !browser_available("chromium_signs_the_desktop_client_in_and_ends_at_md_redirect_with_the_tokens_in_the_fragment") {
        return;
    }
    let app = implicit_app().await;
    let run = run_browser(&authorize(&app, &[])).await;
    // the browser writes the bare origin with its "/" path
    let (base, fragment) = run
        .url
        .split_once('#')
        .unwrap_or_else(|| panic!("a fragment in the final URL: {run:?}"));
    assert_eq!(base, format!("{MD_REDIRECT}/"), "{run:?}");
    assert!(!base.contains('?'), "nothing in the query: {run:?}");
    check_tokens(&app, &pairs(fragment)).await;
    assert!(run.posted.is_none(), "{run:?}");

    // the SSO session signs the client in again without the form
    assert!(!run.again_form, "{run:?}");
    let (_, again) = run.again_url.split_once('#').expect("a fragment");
    let again = pairs(again);
    check_tokens(&app, &again).await;
    assert_ne!(
        get(&again, "access_token"),
        get(&pairs(fragment), "access_token"),
        "fresh tokens"
    );
}

#[tokio::test]
async fn chromium_posts_the_form_post_response_to_exactly_the_redirect_uri() {
    if !browser_available("chromium_posts_the_form_post_response_to_exactly_the_redirect_uri") {
        return;
    }
    let app = implicit_app().await;
    let run = run_browser(&authorize(&app, &[("response_mode", "form_post")])).await;
    let (url, body) = run
        .posted
        .clone()
        .unwrap_or_else(|| panic!("the page posted the response: {run:?}"));
    assert_eq!(url, format!("{MD_REDIRECT}/"), "{run:?}");
    assert!(!run.url.contains('#'), "nothing in a fragment: {run:?}");
    check_tokens(&app, &pairs(&body)).await;
}
