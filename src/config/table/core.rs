//! The keys of the server, the database, authentication and logging.
use super::KeySpec;
use super::Kind::*;

/// `server.*`, `database.*` and `authentication.*` (identity sources apart).
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
];

/// `logging.*`.
pub(super) const LOGGING: &[KeySpec] = &[
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
