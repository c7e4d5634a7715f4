//! The keys of the identity sources: a directory, smart cards, upstream OpenID Connect
//! providers and a SAML identity provider.
use super::KeySpec;
use super::Kind::*;

/// `authentication.ldap.*`, `authentication.certificate.*`, `authentication.oidc.*` and
/// `authentication.saml.*`.
pub(super) const KEYS: &[KeySpec] = &[
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
    // authentication.saml.*: the SAML 2.0 service provider
    KeySpec::new(
        "authentication.saml.enabled",
        Boolean,
        "SAML 2.0 single sign-on: the login page offers the identity provider (or sends the \
         browser straight to it when there is no password form); our metadata is at \
         `<issuer>/saml2/metadata`.",
    )
    .default("false"),
    KeySpec::new(
        "authentication.saml.entity.id",
        Text,
        "Our entity ID at the identity provider (the audience its assertions must name).",
    )
    .unset("`<issuer>/saml2/metadata`"),
    KeySpec::new(
        "authentication.saml.idp.metadata.url",
        Url,
        "URL of the identity provider's SAML metadata (its entity ID, sign-on URL and signing \
         certificates), read at start and every hour; use https.",
    ),
    KeySpec::new(
        "authentication.saml.idp.metadata.file",
        Path,
        "The identity provider's SAML metadata as a file, read at start (instead of the URL).",
    ),
    KeySpec::new(
        "authentication.saml.name.id.format",
        Text,
        "NameID format asked for: a URI or its short name (`unspecified`, `emailAddress`, \
         `persistent`, `transient`).",
    )
    .default("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"),
    KeySpec::new(
        "authentication.saml.name.id.attribute",
        Text,
        "Attribute whose value is the user name, instead of the NameID.",
    )
    .unset("the NameID is the user name"),
    KeySpec::new(
        "authentication.saml.name.id.allow.create",
        Boolean,
        "`AllowCreate` of the request's NameID policy.",
    )
    .default("true"),
    KeySpec::new(
        "authentication.saml.signature.algorithm",
        Text,
        "Algorithm of the request signature (with `sp.key`): requests are signed with \
         SHA-256; SHA-1 and the longer SHA-2 digests are accepted with a warning. Responses \
         signed with SHA-1 are refused.",
    )
    .default("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),
    KeySpec::new(
        "authentication.saml.authn.contexts",
        List,
        "Authentication context classes asked for (`RequestedAuthnContext`), e.g. \
         `urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport`.",
    )
    .default(""),
    KeySpec::new(
        "authentication.saml.authn.context.comparison.type",
        Text,
        "How they compare: `exact`, `minimum`, `maximum` or `better`.",
    )
    .default("exact"),
    KeySpec::new(
        "authentication.saml.disable.force.authentication",
        Boolean,
        "Leave `ForceAuthn` out of requests, so the identity provider may use its own \
         session instead of asking again.",
    )
    .default("false"),
    KeySpec::new(
        "authentication.saml.link",
        Text,
        "Text of the login page's single sign-on button.",
    )
    .default("Sign in with single sign-on"),
    KeySpec::new(
        "authentication.saml.error.visible",
        Boolean,
        "Whether the page of a refused SAML sign-in names the reason (it is always logged).",
    )
    .default("false"),
    KeySpec::new(
        "authentication.saml.sp.key",
        Path,
        "PEM private key of our service provider: signs requests and decrypts encrypted \
         assertions; with `sp.certificate`.",
    )
    .unset("requests are unsigned and encrypted assertions are refused"),
    KeySpec::new(
        "authentication.saml.sp.certificate",
        Path,
        "PEM certificate of `sp.key`, published in our metadata for signing and encryption.",
    ),
    KeySpec::new(
        "authentication.saml.attribute.name",
        Text,
        "Attribute holding the display name.",
    )
    .default("displayName"),
    KeySpec::new(
        "authentication.saml.attribute.email",
        Text,
        "Attribute holding the e-mail address.",
    )
    .default("mail"),
    KeySpec::new(
        "authentication.saml.attribute.groups",
        Text,
        "Attribute listing the user's groups.",
    )
    .unset("no groups"),
    KeySpec::new(
        "authentication.saml.admin.group",
        Text,
        "Group (a value of `attribute.groups`) whose members are administrators.",
    )
    .unset("nobody is an administrator through SAML"),
    KeySpec::new(
        "authentication.saml.clock.skew",
        Duration,
        "Clock difference tolerated on the assertion's times (at most 300 seconds).",
    )
    .default("60"),
];
