//! A test PKI for the smart-card tests, made with the `openssl` command: a CA, a user
//! certificate, a revoked one (CRL from `openssl ca -gencrl`), an expired one and one from
//! another CA; and a server with native TLS that asks for certificates of that CA.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::browser::in_ci;
use crate::helpers::{AppBuilder, TestApp};

pub(crate) fn tls_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// Whether each `(command, argument)` of `tools` starts here (`openssl version`; NSS's
/// `certutil` has no argument it exits 0 for): `false` (after saying so) on a developer's
/// machine, a panic in CI.
pub(crate) fn tools_available(test: &str, tools: &[(&str, &str)]) -> bool {
    let runs = |(tool, arg): (&str, &str)| {
        Command::new(tool)
            .arg(arg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| !runs(*t))
        .map(|(tool, _)| tool)
        .collect();
    if missing.is_empty() {
        return true;
    }
    if in_ci() {
        panic!("CI is set, so {test} must run, but this machine lacks: {missing:?}");
    }
    println!("skipped: {test}: missing {missing:?}");
    false
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate authority run by `openssl ca` in a directory of its own.
pub(crate) struct Ca {
    pub(crate) dir: PathBuf,
}

/// A user certificate and its key (PEM files).
pub(crate) struct UserCert {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

impl UserCert {
    /// The certificate as nginx's `$ssl_client_escaped_cert` passes it.
    pub(crate) fn escaped_pem(&self) -> String {
        let pem = std::fs::read_to_string(&self.cert).unwrap();
        let start = pem.find("-----BEGIN CERTIFICATE-----").unwrap();
        percent_encoding::utf8_percent_encode(&pem[start..], percent_encoding::NON_ALPHANUMERIC)
            .to_string()
    }
}

impl Ca {
    pub(crate) fn new(parent: &Path, name: &str) -> Ca {
        let dir = parent.join(name);
        std::fs::create_dir_all(dir.join("issued")).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        std::fs::write(dir.join("crlnumber"), "1000\n").unwrap();
        std::fs::write(
            dir.join("ca.cnf"),
            format!(
                "[ca]\ndefault_ca = this\n[this]\ndir = {dir}\ndatabase = $dir/index.txt\n\
                 new_certs_dir = $dir/issued\ncertificate = $dir/ca.pem\n\
                 private_key = $dir/ca.key\nserial = $dir/serial\ncrlnumber = $dir/crlnumber\n\
                 default_md = sha256\ndefault_days = 365\ndefault_crl_days = 30\n\
                 policy = any\npreserve = yes\nunique_subject = no\n\
                 [any]\ncountryName = optional\norganizationName = optional\n\
                 organizationalUnitName = optional\ncommonName = supplied\n\
                 emailAddress = optional\n",
                dir = dir.display()
            ),
        )
        .unwrap();
        openssl(
            &dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "3650",
                "-subj",
                &format!("/O=Test PKI/CN={name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        let ca = Ca { dir };
        ca.write_crl();
        ca
    }

    pub(crate) fn cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub(crate) fn crl(&self) -> PathBuf {
        self.dir.join("crl.pem")
    }

    /// Issues a client-authentication certificate for `subject`, with an extra
    /// `subjectAltName` and explicit validity dates (`YYYYMMDDHHMMSSZ`) if given.
    pub(crate) fn issue(
        &self,
        name: &str,
        subject: &str,
        san: Option<&str>,
        dates: Option<(&str, &str)>,
    ) -> UserCert {
        let key = self.dir.join(format!("{name}.key"));
        let csr = self.dir.join(format!("{name}.csr"));
        let cert = self.dir.join(format!("{name}.pem"));
        let ext = self.dir.join(format!("{name}.ext"));
        let mut extensions = String::from(
            "[usr]\nbasicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature\n\
             extendedKeyUsage = clientAuth\n",
        );
        if let Some(san) = san {
            extensions.push_str(&format!("subjectAltName = {san}\n"));
        }
        std::fs::write(&ext, extensions).unwrap();
        openssl(
            &self.dir,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                key.to_str().unwrap(),
                "-out",
                csr.to_str().unwrap(),
                "-subj",
                subject,
            ],
        );
        let mut args = vec![
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-in",
            csr.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
            "-extfile",
            ext.to_str().unwrap(),
            "-extensions",
            "usr",
            "-notext",
        ];
        if let Some((start, end)) = dates {
            args.extend(["-startdate", start, "-enddate", end]);
        }
        openssl(&self.dir, &args);
        UserCert { cert, key }
    }

    /// Revokes `user` and writes a new CRL.
    pub(crate) fn revoke(&self, user: &UserCert) {
        openssl(
            &self.dir,
            &[
                "ca",
                "-config",
                "ca.cnf",
                "-revoke",
                user.cert.to_str().unwrap(),
            ],
        );
        self.write_crl();
    }

    fn write_crl(&self) {
        openssl(
            &self.dir,
            &["ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem"],
        );
    }
}

/// A test PKI: our CA with a good, a revoked and an expired user, another CA with a user.
pub(crate) struct Pki {
    _dir: tempfile::TempDir,
    pub(crate) ca: Ca,
    pub(crate) john: UserCert,
    pub(crate) fay: UserCert,
    pub(crate) revoked: UserCert,
    pub(crate) expired: UserCert,
    pub(crate) stranger: UserCert,
}

pub(crate) fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "Test Smart Card CA");
    let john = ca.issue(
        "john",
        "/C=GB/O=MyCompany/CN=JohnDoe",
        Some("email:john.doe@example.com, otherName:1.3.6.1.4.1.311.20.2.3;UTF8:jdoe@corp.example"),
        None,
    );
    let fay = ca.issue("fay", "/C=GB/O=MyCompany/CN=FayFresh", None, None);
    let revoked = ca.issue("revoked", "/C=GB/O=MyCompany/CN=RevokedRita", None, None);
    let expired = ca.issue(
        "expired",
        "/C=GB/O=MyCompany/CN=ExpiredEd",
        None,
        Some(("20200101000000Z", "20210101000000Z")),
    );
    ca.revoke(&revoked);
    let other = Ca::new(dir.path(), "Another CA");
    let stranger = other.issue("stranger", "/C=GB/O=MyCompany/CN=JohnDoe", None, None);
    Pki {
        _dir: dir,
        ca,
        john,
        fay,
        revoked,
        expired,
        stranger,
    }
}

/// A server with native TLS asking for client certificates of `pki`'s CA.
pub(crate) async fn tls_app(pki: &Pki, extra: &[(&str, &str)]) -> TestApp {
    let mut builder = AppBuilder::new()
        .set("server.ssl.enabled", "true")
        .set(
            "server.ssl.certificate",
            tls_fixture("server1.pem").to_str().unwrap(),
        )
        .set(
            "server.ssl.key",
            tls_fixture("server1.key").to_str().unwrap(),
        )
        .set("authentication.certificate.enabled", "true")
        .set(
            "authentication.certificate.trust.anchors",
            pki.ca.cert().to_str().unwrap(),
        )
        .set(
            "authentication.certificate.revocation.list.file",
            pki.ca.crl().to_str().unwrap(),
        )
        .set("authentication.certificate.username.template", "(O)-(CN)");
    for (k, v) in extra {
        builder = builder.set(k, v);
    }
    builder.spawn().await
}

pub(crate) fn https(url: &str) -> String {
    url.replacen("http://", "https://", 1)
}
