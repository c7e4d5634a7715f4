//! Apache httpd with mod_auth_openidc as a relying party of the test server, and a
//! "browser" (reqwest with a cookie jar, following redirects by hand) that walks through
//! it. Used by `mod_auth_openidc.rs`.
//!
//! Apache runs in the foreground (`apache2 -DFOREGROUND`, a few prefork workers, as in
//! production) on a free loopback port, with a
//! configuration of its own in a temporary directory (ServerRoot, PidFile, ErrorLog, the
//! session cache), and is stopped when [`Apache`] is dropped. As root, Apache insists on
//! dropping privileges: it then runs as `nobody`/`nogroup`, and the directory is readable
//! by all.
//!
//! Needs Debian's `apache2` and `libapache2-mod-auth-openidc` (`.ci/run` installs them).
//! Without them the tests are skipped, unless `CI` is set, in which case they fail.
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::browser::in_ci;
use crate::helpers::{hidden_field, location};

/// Debian's httpd binary.
pub(crate) const APACHE: &str = "/usr/sbin/apache2";
/// Where Debian keeps the Apache modules.
pub(crate) const MODULES: &str = "/usr/lib/apache2/modules";
/// The redirect URI path mod_auth_openidc handles (under the protected location).
pub(crate) const REDIRECT_PATH: &str = "/protected/redirect_uri";
/// The page the CGI script serves: who Apache says is signed in, and the claims.
pub(crate) const ENV_PATH: &str = "/protected/env";
/// A public page to come back to after signing out.
pub(crate) const LOGGED_OUT_PATH: &str = "/loggedout.html";

/// Whether apache2 and mod_auth_openidc are here. Without them: `false` (after printing
/// "skipped: ...") on a developer's machine, a panic in CI.
pub(crate) fn apache_available(test: &str) -> bool {
    let mut missing = Vec::new();
    if !Path::new(APACHE).exists() {
        missing.push(format!("{APACHE} (apt-get install apache2)"));
    }
    if !Path::new(MODULES).join("mod_auth_openidc.so").exists() {
        missing.push(format!(
            "{MODULES}/mod_auth_openidc.so (apt-get install libapache2-mod-auth-openidc)"
        ));
    }
    if missing.is_empty() {
        return true;
    }
    let missing = missing.join(", ");
    if in_ci() {
        panic!("CI is set, so {test} must run, but this machine lacks: {missing}");
    }
    println!("skipped: {test}: missing {missing}");
    false
}

/// A free loopback port (bound and released; Apache binds it a moment later).
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().unwrap().port()
}

/// How mod_auth_openidc authenticates at the token endpoint.
pub(crate) enum RpAuth {
    /// `client_secret_basic` with this secret.
    Secret(String),
    /// `private_key_jwt` with an RSA key: its `kid`, and the PKCS#8 DER of the private key.
    PrivateKey { kid: String, pkcs8: Vec<u8> },
}

/// What the relying party is configured with.
pub(crate) struct RpConfig<'a> {
    /// The server's issuer URL.
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub auth: RpAuth,
}

/// A running Apache httpd.
pub(crate) struct Apache {
    child: Child,
    dir: TempDir,
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

/// The httpd.conf of the relying party. This is also what docs/relying-parties.md shows.
fn httpd_conf(dir: &Path, port: u16, rp: &RpConfig, key_lines: &str) -> String {
    let dir = dir.display();
    let run_as = if unsafe { libc::geteuid() } == 0 {
        "User nobody\nGroup nogroup\n"
    } else {
        ""
    };
    let passphrase = authserver::crypto::random_token();
    format!(
        r#"ServerRoot "{dir}"
ServerName 127.0.0.1:{port}
Listen 127.0.0.1:{port}
PidFile "{dir}/httpd.pid"
DefaultRuntimeDir "{dir}"
ErrorLog "{dir}/error.log"
LogLevel warn auth_openidc:info
StartServers 2
MinSpareServers 2
MaxSpareServers 4
{run_as}
LoadModule mpm_prefork_module {MODULES}/mod_mpm_prefork.so
LoadModule authn_core_module {MODULES}/mod_authn_core.so
LoadModule authz_core_module {MODULES}/mod_authz_core.so
LoadModule authz_user_module {MODULES}/mod_authz_user.so
LoadModule alias_module {MODULES}/mod_alias.so
LoadModule cgi_module {MODULES}/mod_cgi.so
LoadModule auth_openidc_module {MODULES}/mod_auth_openidc.so

DocumentRoot "{dir}/htdocs"
<Directory "{dir}/htdocs">
    Require all granted
</Directory>
<Directory "{dir}/cgi-bin">
    Options +ExecCGI
</Directory>
ScriptAlias {ENV_PATH} "{dir}/cgi-bin/env.cgi"

OIDCProviderMetadataURL {issuer}/.well-known/openid-configuration
OIDCClientID {client_id}
{key_lines}
OIDCRedirectURI http://127.0.0.1:{port}{REDIRECT_PATH}
OIDCCryptoPassphrase {passphrase}
OIDCScope "openid profile email"
OIDCPKCEMethod S256
OIDCRemoteUserClaim sub
OIDCPassClaimsAs environment
OIDCInfoHook iat access_token access_token_expires id_token userinfo refresh_token
OIDCRefreshAccessTokenBeforeExpiry 30
OIDCCacheType shm

<Location /protected>
    AuthType openid-connect
    Require valid-user
</Location>
"#,
        issuer = rp.issuer,
        client_id = rp.client_id,
    )
}

/// The CGI behind the protected page: the signed-in user and the claims Apache passes on.
const ENV_CGI: &str = "#!/bin/sh\n\
printf 'Content-Type: text/plain\\r\\n\\r\\n'\n\
env | grep -E '^(REMOTE_USER|OIDC_CLAIM_)' | sort\n";

fn write(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl Apache {
    /// Writes the configuration and starts `apache2 -X` on `port`; returns once it answers.
    pub(crate) async fn start(port: u16, rp: &RpConfig<'_>) -> Apache {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        // Apache's worker may run as nobody: it must read the pages and run the CGI
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["htdocs", "cgi-bin"] {
            std::fs::create_dir(root.join(sub)).unwrap();
            std::fs::set_permissions(root.join(sub), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        write(&root.join("cgi-bin/env.cgi"), ENV_CGI, 0o755);
        write(
            &root.join("htdocs/loggedout.html"),
            "<!doctype html><title>Signed out</title><p>signed out of the Apache app</p>\n",
            0o644,
        );
        let key_lines = match &rp.auth {
            RpAuth::Secret(secret) => format!(
                "OIDCClientSecret {secret}\nOIDCProviderTokenEndpointAuth client_secret_basic"
            ),
            RpAuth::PrivateKey { kid, pkcs8 } => {
                use aws_lc_rs::encoding::AsDer;
                use aws_lc_rs::signature::KeyPair;
                let public = aws_lc_rs::rsa::KeyPair::from_pkcs8(pkcs8)
                    .expect("an RSA key")
                    .public_key()
                    .as_der()
                    .expect("SubjectPublicKeyInfo")
                    .as_ref()
                    .to_vec();
                let private_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.clone()));
                let public_pem = pem::encode(&pem::Pem::new("PUBLIC KEY", public));
                // the worker reads the key when it signs, so it must be able to (as nobody)
                write(&root.join("rp-key.pem"), &private_pem, 0o644);
                write(&root.join("rp-pub.pem"), &public_pem, 0o644);
                let dir = root.display();
                // the keys come first: the directive admits private_key_jwt only once
                // mod_auth_openidc holds a private key
                format!(
                    "OIDCPrivateKeyFiles {kid}#{dir}/rp-key.pem\n\
                     OIDCPublicKeyFiles {kid}#{dir}/rp-pub.pem\n\
                     OIDCProviderTokenEndpointAuth private_key_jwt"
                )
            }
        };
        let conf = httpd_conf(root, port, rp, &key_lines);
        write(&root.join("httpd.conf"), &conf, 0o644);
        use std::os::unix::process::CommandExt;
        let child = Command::new(APACHE)
            // a group of its own: on SIGTERM httpd signals its whole process group
            .process_group(0)
            .arg("-DFOREGROUND")
            .arg("-f")
            .arg(root.join("httpd.conf"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(root.join("stdout.log")).unwrap())
            .stderr(std::fs::File::create(root.join("stderr.log")).unwrap())
            .spawn()
            .expect("apache2 starts");
        let mut apache = Apache {
            child,
            dir,
            base: format!("http://127.0.0.1:{port}"),
        };
        apache.wait_until_listening(port).await;
        apache
    }

    async fn wait_until_listening(&mut self, port: u16) {
        for _ in 0..200 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("apache2 exited ({status}):\n{}", self.logs());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "apache2 does not listen on {port} after 10 s:\n{}",
            self.logs()
        );
    }

    /// An absolute URL on this server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// mod_auth_openidc's redirect URI, as registered with the server.
    pub(crate) fn redirect_uri(&self) -> String {
        self.url(REDIRECT_PATH)
    }

    /// Apache's error log and its stderr (for failure messages).
    pub(crate) fn logs(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!(
            "--- error.log\n{}--- stderr\n{}",
            read("error.log"),
            read("stderr.log")
        )
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        // SIGTERM first, so that httpd releases its shared memory and semaphores
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        for _ in 0..40 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a walk through redirects ended.
#[derive(Debug)]
pub(crate) struct Page {
    /// The URL of the last request.
    pub url: String,
    pub status: u16,
    pub body: String,
    /// Every URL requested on the way, the first included.
    pub hops: Vec<String>,
}

/// A user agent with a cookie jar that follows redirects by hand (so each hop is seen).
pub(crate) struct Browser {
    client: reqwest::Client,
}

impl Browser {
    pub(crate) fn new() -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .user_agent("Mozilla/5.0 (authserver interop test)")
                .build()
                .unwrap(),
        }
    }

    /// GETs `url` and follows redirects (at most 10).
    pub(crate) async fn visit(&self, url: &str) -> Page {
        let resp = self.client.get(url).send().await.unwrap();
        self.follow(url.to_string(), resp).await
    }

    async fn follow(&self, first: String, mut resp: reqwest::Response) -> Page {
        let mut url = first;
        let mut hops = vec![url.clone()];
        for _ in 0..10 {
            if !resp.status().is_redirection() {
                let status = resp.status().as_u16();
                let body = resp.text().await.unwrap();
                return Page {
                    url,
                    status,
                    body,
                    hops,
                };
            }
            let next = url::Url::parse(&url)
                .unwrap()
                .join(&location(&resp))
                .unwrap()
                .to_string();
            url = next;
            hops.push(url.clone());
            resp = self.client.get(&url).send().await.unwrap();
        }
        panic!("more than 10 redirects: {hops:#?}");
    }

    /// Submits the server's login form on `page` (the login page reached through
    /// `issuer`'s `/authorize`) and follows the redirects.
    pub(crate) async fn sign_in(
        &self,
        issuer: &str,
        page: &Page,
        user: &str,
        password: &str,
    ) -> Page {
        assert!(
            page.url.starts_with(&format!("{issuer}/authorize")) && page.status == 200,
            "expected the server's login page, got {} {}: {}",
            page.status,
            page.url,
            page.body
        );
        let form = [
            ("rid", hidden_field(&page.body, "rid").expect("rid field")),
            (
                "csrf",
                hidden_field(&page.body, "csrf").expect("csrf field"),
            ),
            ("username", user.to_string()),
            ("password", password.to_string()),
        ];
        let login = format!("{issuer}/login");
        let resp = self.client.post(&login).form(&form).send().await.unwrap();
        assert_eq!(resp.status(), 303, "the login form is accepted");
        self.follow(login, resp).await
    }

    /// GETs `url` without following redirects.
    pub(crate) async fn get(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.unwrap()
    }
}
