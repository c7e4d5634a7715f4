//! The key table: every key the product knows, with its type, default, aliases and
//! meaning. Loading, `check-config` and the generated reference (`docs/configuration.md`)
//! all read this one table; a new group of keys is new rows here plus its typed settings.

/// What a key's value is, as the reference names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Address,
    Port,
    Url,
    Boolean,
    Path,
    Networks,
    DatabaseUrl,
    Count,
    List,
    UrlList,
    Secret,
    Duration,
    Algorithm,
    Text,
    LogFormat,
    LogLevel,
    RegistrationMode,
}

impl Kind {
    /// The type column of the reference.
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Address => "IP address",
            Kind::Port => "port",
            Kind::Url => "URL",
            Kind::Boolean => "boolean",
            Kind::Path => "file path",
            Kind::Networks => "network list",
            Kind::DatabaseUrl => "database URL",
            Kind::Count => "number",
            Kind::List => "list",
            Kind::UrlList => "URL list",
            Kind::Secret => "secret",
            Kind::Duration => "duration",
            Kind::Algorithm => "`RS256`, `PS256`, `ES256` or `EdDSA`",
            Kind::Text => "text",
            Kind::LogFormat => "`text` or `json`",
            Kind::LogLevel => "log filter",
            Kind::RegistrationMode => "`off`, `token` or `open`",
        }
    }
}

/// What applies when a key is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DefaultValue {
    /// This value, fed to the merge as the lowest layer.
    Value(&'static str),
    /// Loading fails without it.
    Required,
    /// No value; the text says what happens instead.
    Unset(&'static str),
}

/// One known key: canonical name, accepted aliases, type, default and meaning.
#[derive(Debug)]
pub(super) struct KeySpec {
    pub(super) key: &'static str,
    pub(super) aliases: &'static [&'static str],
    pub(super) kind: Kind,
    pub(super) default: DefaultValue,
    /// One line of meaning for the reference.
    pub(super) about: &'static str,
}

impl KeySpec {
    const fn new(key: &'static str, kind: Kind, about: &'static str) -> Self {
        KeySpec {
            key,
            aliases: &[],
            kind,
            default: DefaultValue::Unset("none"),
            about,
        }
    }

    const fn default(mut self, value: &'static str) -> Self {
        self.default = DefaultValue::Value(value);
        self
    }

    const fn required(mut self) -> Self {
        self.default = DefaultValue::Required;
        self
    }

    const fn unset(mut self, meaning: &'static str) -> Self {
        self.default = DefaultValue::Unset(meaning);
        self
    }

    const fn aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    /// The built-in default fed to the merge, if any.
    pub(super) fn default_value(&self) -> Option<&'static str> {
        match self.default {
            DefaultValue::Value(value) => Some(value),
            DefaultValue::Required | DefaultValue::Unset(_) => None,
        }
    }

    /// Whether the value is masked in messages and reports.
    pub(super) fn is_secret(&self) -> bool {
        self.kind == Kind::Secret
    }
}

use Kind::*;

/// Every key the product knows, in report order.
pub(super) const KEYS: &[KeySpec] = &[
    // server.*
    KeySpec::new(
        "server.address",
        Address,
        "Bind address (`localhost` means `127.0.0.1`). Off loopback the development client \
         secret is refused.",
    )
    .default("127.0.0.1"),
    KeySpec::new("server.port", Port, "Bind port (`0` picks a free port).").default("8555"),
    KeySpec::new(
        "server.public.url",
        Url,
        "External base URL, absolute http(s) without query or fragment; the issuer is this + \
         `/authentication`. The alias `server.public.host` takes a host and optional port only, \
         the scheme follows `server.ssl.enabled`.",
    )
    .aliases(&["server.public.host"])
    .unset("`http://localhost:{port}` (`https://` when `server.ssl.enabled`)"),
    KeySpec::new(
        "server.ssl.enabled",
        Boolean,
        "Serve HTTPS itself (rustls) instead of behind a proxy.",
    )
    .default("false"),
    KeySpec::new(
        "server.ssl.certificate",
        Path,
        "PEM certificate chain; required when `server.ssl.enabled`.",
    ),
    KeySpec::new(
        "server.ssl.key",
        Path,
        "PEM private key; required when `server.ssl.enabled`.",
    ),
    KeySpec::new(
        "server.trusted.proxies",
        Networks,
        "Reverse proxies whose `X-Forwarded-For` is believed (for throttling and logs only), \
         and whose client-certificate header is (`authentication.certificate.headers.enabled`).",
    )
    .default(""),
    KeySpec::new(
        "server.metrics.allow",
        Networks,
        "Networks allowed to read `/metrics`.",
    )
    .default("127.0.0.0/8, ::1/128"),
    // database.*
    KeySpec::new(
        "database.url",
        DatabaseUrl,
        "`sqlite://path` (created if absent), or `postgres://user:password@host:5432/db` for \
         several instances.",
    )
    .default("sqlite://authserver.db"),
    KeySpec::new(
        "database.pool.size",
        Count,
        "SQLite: reader connections (there is one writer besides). PostgreSQL: connections per \
         instance.",
    )
    .default("8"),
    // authentication.*
    KeySpec::new("authentication.client.ids", List, "Allowed client IDs.").required(),
    KeySpec::new(
        "authentication.redirect.uri.whitelist",
        UrlList,
        "Allowed redirect URIs: full URLs or their beginnings, absolute http(s) without user \
         info or fragment. A loopback IP entry without a port (`http://127.0.0.1/cb`, \
         `http://[::1]/cb`) admits any port; a private-use URI (`com.example.app:/cb`) only \
         exactly.",
    )
    .required(),
    KeySpec::new(
        "authentication.client.secret",
        Secret,
        "Shared client secret, sent as `X-Auth-Secret` (or Basic / `client_secret`). Empty and \
         `CHANGE_ME` are refused, the development value off loopback or behind https too.",
    )
    .required(),
    KeySpec::new(
        "authentication.token.expiry",
        Duration,
        "ID and access token lifetime.",
    )
    .aliases(&["authentication.token.expirity", "authentication.token.ttl"])
    .default("900"),
    KeySpec::new(
        "authentication.client.permanent",
        List,
        "Clients whose `client_credentials` tokens get the permanent lifetime (each should be in \
         `authentication.client.ids`).",
    )
    .aliases(&["authentication.client.unlimited"])
    .default(""),
    KeySpec::new(
        "authentication.permanent.token.expiry",
        Duration,
        "The permanent token lifetime.",
    )
    .aliases(&[
        "authentication.unlimited.token.expirity",
        "authentication.unlimited.token.ttl",
    ])
    .default("630720000"),
    KeySpec::new(
        "authentication.client.password",
        List,
        "Clients allowed the password grant (`grant_type=password`, RFC 6749 §4.3), for \
         Teamwork Cloud 2024x clients and scripts; RFC 9700 forbids it for new work, so list \
         only clients that cannot do anything else.",
    )
    .default(""),
    KeySpec::new(
        "authentication.client.offline",
        List,
        "Clients whose script logins (the password grant, and `client_credentials` with \
         `Basic <PAT>:`, the secret-key login) get a one-time refresh token when they ask for \
         `offline_access`; every refresh token of these clients lives \
         `authentication.offline.token.expiry`.",
    )
    .default(""),
    KeySpec::new(
        "authentication.offline.token.expiry",
        Duration,
        "Refresh token lifetime for the clients in `authentication.client.offline`, counted \
         from each rotation (primaTime: 7 days).",
    )
    .default("604800"),
    KeySpec::new(
        "authentication.validate.basic",
        Boolean,
        "Whether `/api/validate` also accepts `Authorization: Basic` with a user name and \
         password, or a user name and one of the user's personal access tokens (for a \
         reverse proxy in front of tools that can only send Basic); off by default, since it \
         turns the endpoint into a password check.",
    )
    .default("false"),
    KeySpec::new(
        "authentication.code.expiry",
        Duration,
        "Authorization code lifetime.",
    )
    .aliases(&[
        "authentication.code.token.expirity",
        "authentication.code.token.ttl",
    ])
    .default("60"),
    KeySpec::new(
        "authentication.refresh.token.expiry",
        Duration,
        "Refresh token lifetime.",
    )
    .aliases(&[
        "authentication.refresh.token.expirity",
        "authentication.refresh.token.ttl",
    ])
    .default("1209600"),
    KeySpec::new(
        "authentication.sso.session.expiry",
        Duration,
        "Browser \"stay signed in\" session lifetime.",
    )
    .aliases(&["authentication.sso.token.expirity"])
    .default("604800"),
    KeySpec::new(
        "authentication.refresh.token.reuse.grace",
        Duration,
        "Time after a rotation in which a repeated use of the old refresh token (a retry \
         after a lost answer, parallel tabs) gets a fresh pair that replaces the family's \
         live token, instead of revoking the family; 0: strict one-time use.",
    )
    .default("30"),
    KeySpec::new(
        "authentication.signing.algorithm",
        Algorithm,
        "Algorithm tokens are signed with; with `ES256` or `EdDSA` an RS256 key is also \
         generated, published and listed in discovery, but not used to sign.",
    )
    .default("RS256"),
    KeySpec::new(
        "authentication.signing.key",
        Path,
        "PEM private key to sign with (PKCS#8, PKCS#1 or SEC1); wins over the keys in the \
         database.",
    )
    .unset("none (keys are generated and kept in the database)"),
    KeySpec::new(
        "authentication.signing.kid",
        Text,
        "`kid` for `authentication.signing.key` or the key store, to keep an existing \
         deployment's key ID.",
    )
    .unset("the key's RFC 7638 thumbprint"),
    KeySpec::new(
        "authentication.server.key-store",
        Path,
        "Teamwork Cloud's PKCS#12 key store (`.p12`/`.pfx`, modern AES or legacy 3DES/RC2) \
         holding the signing key; JKS must be converted first.",
    ),
    KeySpec::new(
        "authentication.server.key-store-password",
        Secret,
        "Password of `authentication.server.key-store`.",
    ),
    KeySpec::new(
        "authentication.server.key-alias",
        Text,
        "Alias of the signing key's entry in `authentication.server.key-store`.",
    )
    .unset("the store's only private key"),
    KeySpec::new(
        "authentication.client.implicit",
        List,
        "Clients allowed the implicit and hybrid sign-in (`response_type` `token`, `id_token`, \
         `id_token token`, `code id_token`), e.g. the desktop modeling client `MAGICDRAW`; their \
         redirect URI must equal a whitelist entry exactly. Off for everyone else (RFC 9700).",
    )
    .default(""),
    KeySpec::new(
        "authentication.implicit.token.expiry",
        Duration,
        "Lifetime of the tokens the implicit and hybrid sign-in hands out in the redirect.",
    )
    .aliases(&[
        "authentication.implicit.token.expirity",
        "authentication.implicit.token.ttl",
    ])
    .default("86400"),
    KeySpec::new(
        "authentication.registration.mode",
        RegistrationMode,
        "Dynamic client registration (RFC 7591/7592) at `/authentication/api/oidc/register`: \
         `off` (no endpoint), `token` (the request bears an initial access token made with \
         `authserver client registration-token create`) or `open` (anyone; at most 10 \
         registrations per address per hour, bodies up to 16 KiB). Such clients are never \
         first-party: users are asked for consent.",
    )
    .default("off"),
    KeySpec::new(
        "authentication.remember.me.hidden.client.ids",
        List,
        "Clients whose login page has no \"Stay signed in\" box (a `remember` field posted \
         anyway is ignored).",
    )
    .default(""),
    KeySpec::new(
        "authentication.disable.credentials",
        Boolean,
        "Turns the local passwords off: the login form then checks passwords against the \
         directory only (`authentication.ldap.url`); without a directory the login page shows \
         only the upstream providers' buttons (`authentication.oidc.providers`), and with \
         exactly one it sends the browser straight there. `true` without another identity \
         source is refused at start.",
    )
    .default("false"),
    KeySpec::new(
        "authentication.external.link.local",
        Boolean,
        "Whether a directory or upstream sign-in whose user name belongs to a local user takes \
         that user over (it becomes the source's, its local password stops working); `false` \
         refuses such a sign-in. Turn on only when every source is authoritative for its \
         user names.",
    )
    .default("false"),
    KeySpec::new(
        "authentication.login.banner.text",
        Text,
        "Text shown on the login page.",
    )
    .aliases(&["classification.loginbannertext"]),
    // authentication.ldap.*
    KeySpec::new(
        "authentication.ldap.url",
        UrlList,
        "LDAP / Active Directory servers for the password check, `ldap://` or `ldaps://`, \
         tried in order (the next one when a server is down).",
    )
    .unset("none: no directory, local users only"),
    KeySpec::new(
        "authentication.ldap.starttls",
        Boolean,
        "Upgrade the `ldap://` connections with StartTLS before anything is sent.",
    )
    .default("false"),
    KeySpec::new(
        "authentication.ldap.ca.file",
        Path,
        "PEM file of the certificate authorities trusted for `ldaps://` and StartTLS.",
    )
    .unset("the system's trusted authorities"),
    KeySpec::new(
        "authentication.ldap.bind.dn",
        Text,
        "DN the user search binds as (a service account); its password is \
         `authentication.ldap.bind.password`.",
    )
    .unset("anonymous search"),
    KeySpec::new(
        "authentication.ldap.bind.password",
        Secret,
        "Password of `authentication.ldap.bind.dn` (better from the environment: \
         `AUTHSERVER_AUTHENTICATION_LDAP_BIND_PASSWORD`).",
    ),
    KeySpec::new(
        "authentication.ldap.base.dn",
        Text,
        "DN under which users and groups are searched (subtree); required with \
         `authentication.ldap.url`.",
    ),
    KeySpec::new(
        "authentication.ldap.user.filter",
        Text,
        "Filter that finds exactly one user; `{username}` is replaced by the typed name, \
         escaped (RFC 4515). Active Directory: `(&(objectClass=user)(sAMAccountName={username}))`.",
    )
    .default("(&(objectClass=person)(uid={username}))"),
    KeySpec::new(
        "authentication.ldap.attribute.username",
        Text,
        "Attribute holding the user name (the `sub` of the tokens); AD: `sAMAccountName`.",
    )
    .default("uid"),
    KeySpec::new(
        "authentication.ldap.attribute.name",
        Text,
        "Attribute holding the display name (`name` claim).",
    )
    .default("cn"),
    KeySpec::new(
        "authentication.ldap.attribute.email",
        Text,
        "Attribute holding the e-mail address (`email` claim).",
    )
    .default("mail"),
    KeySpec::new(
        "authentication.ldap.attribute.id",
        Text,
        "Attribute holding the entry's stable id; AD: `objectGUID`. An entry without it is \
         known by its DN.",
    )
    .default("entryUUID"),
    KeySpec::new(
        "authentication.ldap.attribute.groups",
        Text,
        "Attribute of the user entry listing the DNs of its groups (used when \
         `authentication.ldap.group.filter` is not set).",
    )
    .default("memberOf"),
    KeySpec::new(
        "authentication.ldap.group.filter",
        Text,
        "Filter finding the user's groups under the base DN; `{dn}` is the user's DN and \
         `{username}` the user name, both escaped. E.g. \
         `(&(objectClass=groupOfNames)(member={dn}))`.",
    )
    .unset("the user entry's `authentication.ldap.attribute.groups`"),
    KeySpec::new(
        "authentication.ldap.admin.group",
        Text,
        "DN of the group whose members are administrators, written at every sign-in.",
    )
    .unset("no directory user is an administrator"),
    KeySpec::new(
        "authentication.ldap.timeout.seconds",
        Duration,
        "Limit of each directory operation (connecting, search, bind); a directory that \
         does not answer in time counts as down.",
    )
    .default("5"),
    KeySpec::new(
        "authentication.ldap.pool.size",
        Count,
        "Most directory connections at once; further sign-ins wait (up to the timeout) for \
         one to free.",
    )
    .default("8"),
    // authentication.certificate.*: smart-card (client-certificate) login
    KeySpec::new(
        "authentication.certificate.enabled",
        Boolean,
        "Smart-card (CAC/PIV) sign-in with a client certificate: the TLS server asks for one \
         without requiring it (`server.ssl.enabled`), or a proxy passes it on \
         (`authentication.certificate.headers.enabled`).",
    )
    .default("false"),
    KeySpec::new(
        "authentication.certificate.trust.anchors",
        Path,
        "PEM file of the CA certificates user certificates must chain to (intermediate CAs \
         may be listed too); required when `authentication.certificate.enabled`.",
    ),
    KeySpec::new(
        "authentication.certificate.username.source",
        Text,
        "Where the user name comes from: `dn` (the subject DN, through the template) or `san` \
         (a subject alternative name of `username.san.type`).",
    )
    .default("dn"),
    KeySpec::new(
        "authentication.certificate.username.san.type",
        Text,
        "With `username.source = san`: `0` other name (of `username.san.id`), `1` RFC 822 \
         name, `2` DNS name, `4` directory name (through the template).",
    )
    .default("4"),
    KeySpec::new(
        "authentication.certificate.username.san.id",
        Text,
        "OID of the other name used with `username.san.type = 0`; the default is the user \
         principal name.",
    )
    .default("1.3.6.1.4.1.311.20.2.3"),
    KeySpec::new(
        "authentication.certificate.username.template",
        Text,
        "User name from the DN: attribute names in parentheses are replaced by their values, \
         e.g. `(O)-(CN)` for `CN=JohnDoe,O=MyCompany` is `MyCompany-JohnDoe`.",
    )
    .default("(CN)"),
    KeySpec::new(
        "authentication.certificate.displayname.source",
        Text,
        "Where the display name (the user's name, and the login button's label) comes from: \
         `dn` or `san`, as for the user name.",
    )
    .default("dn"),
    KeySpec::new(
        "authentication.certificate.displayname.san.type",
        Text,
        "As `username.san.type`, for the display name.",
    )
    .default("4"),
    KeySpec::new(
        "authentication.certificate.displayname.san.id",
        Text,
        "As `username.san.id`, for the display name.",
    )
    .default("1.3.6.1.4.1.311.20.2.3"),
    KeySpec::new(
        "authentication.certificate.displayname.template",
        Text,
        "As `username.template`, for the display name.",
    )
    .default("(CN)"),
    KeySpec::new(
        "authentication.certificate.revocation.list.file",
        Path,
        "Certificate revocation list(s), PEM or DER, re-read every `revocation.list.refresh`; \
         one that cannot be read at start stops the start.",
    ),
    KeySpec::new(
        "authentication.certificate.revocation.list.url",
        Url,
        "URL of a certificate revocation list, fetched at start (a failure stops the start) \
         and every `revocation.list.refresh`; a failed refresh keeps the last list.",
    ),
    KeySpec::new(
        "authentication.certificate.revocation.list.refresh",
        Duration,
        "Time between re-reads of the revocation list file and URL. Once a list is past its \
         `nextUpdate`, certificate sign-ins are refused until a fresh one is loaded.",
    )
    .default("3600"),
    KeySpec::new(
        "authentication.certificate.headers.enabled",
        Boolean,
        "Behind a TLS-terminating proxy: take the certificate from the \
         `authentication.certificate.header` header, only when it comes from \
         `server.trusted.proxies`; authserver verifies it itself.",
    )
    .default("false"),
    KeySpec::new(
        "authentication.certificate.header",
        Text,
        "The header a trusted proxy passes the URL-encoded PEM certificate in (nginx: \
         `$ssl_client_escaped_cert`).",
    )
    .default("X-SSL-Client-Cert"),
    // authentication.oidc.*: upstream OpenID Connect providers
    KeySpec::new(
        "authentication.oidc.providers",
        List,
        "Names of the upstream OpenID Connect providers offered as \"Sign in with …\" buttons \
         (letters, digits, `-` and `_`); each is configured by the \
         `authentication.oidc.provider.<name>.*` keys below.",
    )
    .default(""),
    KeySpec::new(
        "authentication.oidc.provider.<name>.issuer",
        Url,
        "The provider's issuer URL, exactly as its discovery document states it (discovery is \
         read from `<issuer>/.well-known/openid-configuration`).",
    )
    .required(),
    KeySpec::new(
        "authentication.oidc.provider.<name>.client.id",
        Text,
        "The client ID authserver was registered under at the provider.",
    )
    .required(),
    KeySpec::new(
        "authentication.oidc.provider.<name>.client.secret",
        Secret,
        "Its client secret, sent to the provider's token endpoint with HTTP Basic \
         (`client_secret_basic`).",
    )
    .required(),
    KeySpec::new(
        "authentication.oidc.provider.<name>.scopes",
        Text,
        "Scopes asked of the provider (space- or comma-separated; `openid` is always sent).",
    )
    .default("openid profile email"),
    KeySpec::new(
        "authentication.oidc.provider.<name>.username.claim",
        Text,
        "Claim that becomes the authserver user name; when the provider omits it: `email` \
         (if present, and verified when `require.verified.email`), else `sub`.",
    )
    .default("preferred_username"),
    KeySpec::new(
        "authentication.oidc.provider.<name>.display.name",
        Text,
        "Button text after \"Sign in with\".",
    )
    .unset("the provider's name"),
    KeySpec::new(
        "authentication.oidc.provider.<name>.require.verified.email",
        Boolean,
        "Take the email only when the provider says it is verified (`email_verified`); an \
         unverified one is dropped (and never used as the user name).",
    )
    .default("true"),
    KeySpec::new(
        "authentication.oidc.provider.<name>.admin.claim",
        Text,
        "Claim (text or list, e.g. `groups` or `roles`) that makes the user an administrator \
         when it equals or contains `admin.value`.",
    )
    .unset("nobody is an administrator through this provider"),
    KeySpec::new(
        "authentication.oidc.provider.<name>.admin.value",
        Text,
        "The value of `admin.claim` that grants administration; required with `admin.claim`.",
    ),
    KeySpec::new(
        "authentication.oidc.provider.<name>.groups.claim",
        Text,
        "Claim (a list) whose values are recorded as the user's groups.",
    )
    .unset("no groups"),
    // logging.*
    KeySpec::new(
        "logging.format",
        LogFormat,
        "Log line format, written to standard error.",
    )
    .default("text"),
    KeySpec::new(
        "logging.level",
        LogLevel,
        "Log filter, e.g. `info`, `debug` or `info,sqlx=warn`; `RUST_LOG`, if set, wins.",
    )
    .default("info"),
];

/// The placeholder for a provider's name in per-name keys
/// (`authentication.oidc.provider.<name>.issuer`).
pub(super) const NAME_PLACEHOLDER: &str = "<name>";

impl KeySpec {
    /// Whether this is a per-name key (one value per configured name).
    pub(super) fn is_per_name(&self) -> bool {
        self.key.contains(NAME_PLACEHOLDER)
    }

    /// The concrete key for `name` (`…provider.corp.issuer`).
    pub(super) fn for_name(&self, name: &str) -> String {
        self.key.replacen(NAME_PLACEHOLDER, name, 1)
    }
}

/// Whether `name` may fill a `<name>` placeholder: letters, digits, `-` and `_`, at most
/// 64, so the concrete key stays one dotted path segment.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The per-name spec and the name a concrete key such as
/// `authentication.oidc.provider.corp.issuer` stands for.
pub(super) fn per_name_spec(key: &str) -> Option<(&'static KeySpec, &str)> {
    KEYS.iter().filter(|s| s.is_per_name()).find_map(|spec| {
        let (before, after) = spec.key.split_once(NAME_PLACEHOLDER)?;
        let name = key.strip_prefix(before)?.strip_suffix(after)?;
        valid_name(name).then_some((spec, name))
    })
}

/// The per-name spec an `AUTHSERVER_*` variable may stand for (the name cannot be read
/// back from the variable, as `-` and `.` both become `_`: the reader looks the variable
/// up by the configured names instead).
pub(super) fn per_name_env_spec(var: &str) -> Option<&'static KeySpec> {
    KEYS.iter().filter(|s| s.is_per_name()).find(|spec| {
        let Some((before, after)) = spec.key.split_once(NAME_PLACEHOLDER) else {
            return false;
        };
        let (before, after) = (env_var_name(before), env_var_name(after));
        let after = after.trim_start_matches(super::ENV_PREFIX);
        var.len() > before.len() + after.len() && var.starts_with(&before) && var.ends_with(after)
    })
}

/// The key whose value is a bare host (`server.public.url` alias with its own meaning).
pub(super) const PUBLIC_HOST_ALIAS: &str = "server.public.host";

pub(super) fn key_spec(key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|spec| spec.key == key)
}

/// The `AUTHSERVER_*` variable that overrides `key`.
pub fn env_var_name(key: &str) -> String {
    let mut name = String::from(super::ENV_PREFIX);
    name.extend(key.chars().map(|c| match c {
        '.' | '-' => '_',
        c => c.to_ascii_uppercase(),
    }));
    name
}

/// Every accepted spelling (canonical key first, then aliases) with its spec and rank;
/// per-name keys are not among them (see [`per_name_spec`]).
pub(super) fn all_names() -> impl Iterator<Item = (&'static str, &'static KeySpec, usize)> {
    KEYS.iter().filter(|s| !s.is_per_name()).flat_map(|spec| {
        std::iter::once(spec.key)
            .chain(spec.aliases.iter().copied())
            .enumerate()
            .map(move |(rank, name)| (name, spec, rank))
    })
}
