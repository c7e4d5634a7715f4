//! The OAuth flows of the standard client: PKCE, the authorize URL, the login form, the
//! code exchange, and reading what comes back (JWTs, JWKS, `/api/validate`).
use super::http::{hidden_field, location, query_param};
use super::server::{TestApp, CLIENT, REDIRECT, SECRET};

/// The key ids of the JWKS at `url`.
pub async fn jwks_kids_at(client: &reqwest::Client, url: &str) -> Vec<String> {
    let jwks: serde_json::Value = client.get(url).send().await.unwrap().json().await.unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// Exchanges a code as [`CLIENT`] at `token_url` with `X-Auth-Secret`.
pub async fn exchange_code(
    client: &reqwest::Client,
    token_url: &str,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    client
        .post(token_url)
        .header("X-Auth-Secret", SECRET)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce_pair() -> (String, String) {
    let verifier = authserver::crypto::random_token();
    let challenge = authserver::domain::pkce::challenge_for(&verifier);
    (verifier, challenge)
}

impl TestApp {
    /// `/authorize` URL with the standard parameters plus `extra`.
    pub fn authorize_url(&self, challenge: &str, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", CLIENT);
            q.append_pair("redirect_uri", REDIRECT);
            q.append_pair("scope", "openid profile email");
            q.append_pair("state", "st4te");
            q.append_pair("nonce", "n0nce");
            q.append_pair("code_challenge", challenge);
            q.append_pair("code_challenge_method", "S256");
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        url.to_string()
    }

    /// GETs an authorize URL and expects the login page; returns its HTML.
    pub async fn login_page(&self, authorize_url: &str) -> String {
        let resp = self.client.get(authorize_url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "expected the login page");
        resp.text().await.unwrap()
    }

    /// Submits the login form of `page`.
    pub async fn submit_login(
        &self,
        page: &str,
        user: &str,
        password: &str,
        remember: bool,
    ) -> reqwest::Response {
        let rid = hidden_field(page, "rid").expect("rid field");
        let csrf = hidden_field(page, "csrf").expect("csrf field");
        let mut form = vec![
            ("rid", rid),
            ("csrf", csrf),
            ("username", user.to_string()),
            ("password", password.to_string()),
        ];
        if remember {
            form.push(("remember", "1".to_string()));
        }
        self.client
            .post(self.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Full browser sign-in; returns (code, verifier).
    pub async fn sign_in(&self, user: &str, password: &str) -> (String, String) {
        let (verifier, challenge) = pkce_pair();
        let page = self.login_page(&self.authorize_url(&challenge, &[])).await;
        let resp = self.submit_login(&page, user, password, false).await;
        assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
        let loc = location(&resp);
        assert!(loc.starts_with(REDIRECT), "{loc}");
        (query_param(&loc, "code").expect("code"), verifier)
    }

    /// Exchanges a code at the token endpoint with `X-Auth-Secret`.
    pub async fn exchange(&self, code: &str, verifier: &str) -> reqwest::Response {
        exchange_code(&self.client, &self.url("/api/token"), code, verifier).await
    }

    /// Signs in and exchanges the code; returns the token response JSON.
    pub async fn tokens_for(&self, user: &str, password: &str) -> serde_json::Value {
        let (code, verifier) = self.sign_in(user, password).await;
        let resp = self.exchange(&code, &verifier).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    /// GETs `/api/validate` with `Authorization: <scheme> <token>`; returns the status.
    pub async fn validate_status(&self, scheme: &str, token: &str) -> u16 {
        self.client
            .get(self.url("/api/validate"))
            .header("Authorization", format!("{scheme} {token}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// `/authorize` URL with the standard parameters except those named in `omit`, plus
    /// `extra` (to replace a standard parameter, omit it and pass it in `extra`).
    pub fn authorize_url_without(
        &self,
        challenge: &str,
        omit: &[&str],
        extra: &[(&str, &str)],
    ) -> String {
        let standard = [
            ("response_type", "code"),
            ("client_id", CLIENT),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile email"),
            ("state", "st4te"),
            ("nonce", "n0nce"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ];
        let mut url = url::Url::parse(&self.url("/authorize")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in standard.iter().filter(|(k, _)| !omit.contains(k)) {
                q.append_pair(k, v);
            }
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        url.to_string()
    }

    /// GETs `url` with the test client (cookies kept, redirects not followed).
    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.unwrap()
    }
}

/// Decodes a JWT's header and payload without verifying (tests inspect claims).
pub fn jwt_parts(token: &str) -> (serde_json::Value, serde_json::Value) {
    use base64::Engine;
    let mut it = token.split('.');
    let dec = |s: &str| {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    (dec(it.next().unwrap()), dec(it.next().unwrap()))
}
