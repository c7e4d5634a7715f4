//! `authentication.oidc.*`: the upstream OpenID Connect providers ("Sign in with …"),
//! one group of `authentication.oidc.provider.<name>.*` keys per listed name.

use crate::config::reader::{Raw, Reader};
use crate::config::table::valid_name;
use crate::config::values::{parse_bool, Secret};
use crate::config::ConfigError;

const PROVIDERS: &str = "authentication.oidc.providers";
const PREFIX: &str = "authentication.oidc.provider.";
const ISSUER: &str = "authentication.oidc.provider.<name>.issuer";
const CLIENT_ID: &str = "authentication.oidc.provider.<name>.client.id";
const CLIENT_SECRET: &str = "authentication.oidc.provider.<name>.client.secret";
const SCOPES: &str = "authentication.oidc.provider.<name>.scopes";
const USERNAME_CLAIM: &str = "authentication.oidc.provider.<name>.username.claim";
const DISPLAY_NAME: &str = "authentication.oidc.provider.<name>.display.name";
const VERIFIED_EMAIL: &str = "authentication.oidc.provider.<name>.require.verified.email";
const ADMIN_CLAIM: &str = "authentication.oidc.provider.<name>.admin.claim";
const ADMIN_VALUE: &str = "authentication.oidc.provider.<name>.admin.value";
const GROUPS_CLAIM: &str = "authentication.oidc.provider.<name>.groups.claim";

/// One upstream OpenID Connect provider.
#[derive(Debug, Clone)]
pub struct UpstreamProvider {
    /// Its name in the keys and the URLs (`/upstream/<name>/start`).
    pub name: String,
    /// The issuer, exactly as configured (the ID token's `iss` must equal it).
    pub issuer: String,
    /// Our client ID at the provider.
    pub client_id: String,
    /// Our client secret at the provider.
    pub client_secret: Secret,
    /// Scopes asked for, `openid` first.
    pub scopes: Vec<String>,
    /// The claim that becomes the user name.
    pub username_claim: String,
    /// Button text after "Sign in with".
    pub display_name: String,
    /// Whether only a verified email is taken.
    pub require_verified_email: bool,
    /// The claim and value that make an administrator.
    pub admin: Option<(String, String)>,
    /// The claim listing the user's groups.
    pub groups_claim: Option<String>,
}

/// `authentication.oidc.*` settings.
#[derive(Debug, Clone, Default)]
pub struct UpstreamSettings {
    /// The providers, in the order of `authentication.oidc.providers`.
    pub providers: Vec<UpstreamProvider>,
}

impl UpstreamSettings {
    pub(super) fn read(r: &Reader<'_>, warnings: &mut Vec<String>) -> Result<Self, ConfigError> {
        let names = r.list(PROVIDERS)?;
        if let Some(raw) = r.get(PROVIDERS)? {
            for (i, name) in names.iter().enumerate() {
                if !valid_name(name) {
                    return Err(r.invalid_entry(
                        PROVIDERS,
                        &raw,
                        name,
                        "a name of letters, digits, - and _ (at most 64)",
                    ));
                }
                if names[..i].contains(name) {
                    return Err(r.invalid_entry(PROVIDERS, &raw, name, "each name once"));
                }
            }
        }
        warnings.extend(r.unlisted_names(PREFIX, &names));
        let providers = names
            .iter()
            .map(|name| read_provider(r, name))
            .collect::<Result<_, _>>()?;
        Ok(UpstreamSettings { providers })
    }

    /// The provider called `name`.
    pub fn provider(&self, name: &str) -> Option<&UpstreamProvider> {
        self.providers.iter().find(|p| p.name == name)
    }

    pub(super) fn effective(&self) -> Vec<(String, String)> {
        let names: Vec<&str> = self.providers.iter().map(|p| p.name.as_str()).collect();
        let mut rows = vec![(PROVIDERS.to_owned(), names.join(", "))];
        for p in &self.providers {
            let key = |template: &str| template.replacen("<name>", &p.name, 1);
            let (admin_claim, admin_value) = p.admin.clone().unwrap_or_default();
            rows.extend([
                (key(ISSUER), p.issuer.clone()),
                (key(CLIENT_ID), p.client_id.clone()),
                (key(CLIENT_SECRET), p.client_secret.to_string()),
                (key(SCOPES), p.scopes.join(" ")),
                (key(USERNAME_CLAIM), p.username_claim.clone()),
                (key(DISPLAY_NAME), p.display_name.clone()),
                (key(VERIFIED_EMAIL), p.require_verified_email.to_string()),
                (key(ADMIN_CLAIM), admin_claim),
                (key(ADMIN_VALUE), admin_value),
                (
                    key(GROUPS_CLAIM),
                    p.groups_claim.clone().unwrap_or_default(),
                ),
            ]);
        }
        rows
    }
}

/// A per-name value, trimmed; empty counts as unset.
fn text(r: &Reader<'_>, template: &'static str, name: &str) -> Result<Option<String>, ConfigError> {
    let (_, raw) = r.named(template, name)?;
    Ok(raw
        .map(|raw| raw.trimmed().to_owned())
        .filter(|v| !v.is_empty()))
}

fn required(r: &Reader<'_>, template: &'static str, name: &str) -> Result<String, ConfigError> {
    let (key, _) = r.named(template, name)?;
    text(r, template, name)?.ok_or_else(|| r.missing_named(&key, "a value"))
}

fn parsed<T>(
    r: &Reader<'_>,
    template: &'static str,
    name: &str,
    parse: impl FnOnce(&Raw<'_>) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    let (key, raw) = r.named(template, name)?;
    match raw {
        None => Ok(None),
        Some(raw) => parse(&raw)
            .map(Some)
            .map_err(|expected| r.invalid_named(template, &key, &raw, expected)),
    }
}

fn parse_issuer(value: &str) -> Result<String, String> {
    const EXPECTED: &str = "an absolute http(s) URL without query or fragment";
    let url = url::Url::parse(value).map_err(|_| EXPECTED.to_owned())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
    {
        return Err(EXPECTED.to_owned());
    }
    Ok(value.to_owned())
}

/// Scopes from a space- or comma-separated value, `openid` first and once.
pub(crate) fn parse_scopes(value: &str) -> Vec<String> {
    let mut scopes = vec!["openid".to_owned()];
    for s in value.split([' ', ',', '\t']).filter(|s| !s.is_empty()) {
        if !scopes.iter().any(|have| have == s) {
            scopes.push(s.to_owned());
        }
    }
    scopes
}

fn read_provider(r: &Reader<'_>, name: &str) -> Result<UpstreamProvider, ConfigError> {
    let issuer = parsed(r, ISSUER, name, |raw| parse_issuer(raw.trimmed()))?;
    let issuer = match issuer {
        Some(i) => i,
        None => {
            let (key, _) = r.named(ISSUER, name)?;
            return Err(r.missing_named(&key, "the provider's issuer URL"));
        }
    };
    let client_id = required(r, CLIENT_ID, name)?;
    // a secret is kept exactly, like authentication.client.secret
    let (secret_key, secret) = r.named(CLIENT_SECRET, name)?;
    let client_secret = match secret {
        Some(raw) if !raw.value.is_empty() => Secret::new(raw.value),
        _ => return Err(r.missing_named(&secret_key, "the client secret")),
    };
    let scopes = parse_scopes(&text(r, SCOPES, name)?.unwrap_or_default());
    let username_claim =
        text(r, USERNAME_CLAIM, name)?.unwrap_or_else(|| "preferred_username".to_owned());
    let display_name = text(r, DISPLAY_NAME, name)?.unwrap_or_else(|| name.to_owned());
    let require_verified_email =
        parsed(r, VERIFIED_EMAIL, name, |raw| parse_bool(raw.trimmed()))?.unwrap_or(true);
    let admin = match (text(r, ADMIN_CLAIM, name)?, text(r, ADMIN_VALUE, name)?) {
        (Some(claim), Some(value)) => Some((claim, value)),
        (None, None) => None,
        (Some(_), None) => {
            let (key, _) = r.named(ADMIN_VALUE, name)?;
            return Err(r.missing_named(&key, "the value of admin.claim that grants admin"));
        }
        (None, Some(_)) => {
            let (key, _) = r.named(ADMIN_CLAIM, name)?;
            return Err(r.missing_named(&key, "the claim admin.value is looked for in"));
        }
    };
    let groups_claim = text(r, GROUPS_CLAIM, name)?;
    Ok(UpstreamProvider {
        name: name.to_owned(),
        issuer,
        client_id,
        client_secret,
        scopes,
        username_claim,
        display_name,
        require_verified_email,
        admin,
        groups_claim,
    })
}
