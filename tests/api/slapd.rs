//! A throwaway OpenLDAP server for the directory tests: Debian's `slapd`, run as a child
//! process on 127.0.0.1 and a free port, with its own `slapd.conf` (mdb backend, a root DN)
//! and database in a temporary directory, seeded with `slapadd`, killed when dropped.
//! Optionally with TLS: a test CA and a server certificate made with `openssl`, served on
//! `ldaps://` and by StartTLS on `ldap://`.
//!
//! Without slapd (`apt-get install slapd ldap-utils`; `.ci/run` installs them) the tests
//! are skipped, unless `CI` is set: then they fail.
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ldap3::{LdapConnAsync, Mod};

use crate::browser::in_ci;

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const OPENSSL: &str = "openssl";

/// The directory's suffix.
pub const BASE_DN: &str = "dc=example,dc=org";
/// Where the people are.
pub const PEOPLE: &str = "ou=people,dc=example,dc=org";
/// The group whose members are administrators.
pub const ADMINS: &str = "cn=admins,ou=groups,dc=example,dc=org";
const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
const ROOT_PW: &str = "root-secret-of-the-test-directory";

/// The DN of a seeded or added user.
pub fn user_dn(uid: &str) -> String {
    format!("uid={uid},{PEOPLE}")
}

/// Whether slapd and slapadd are here (a panic in CI when not).
pub fn slapd_available(test: &str) -> bool {
    let missing: Vec<&str> = [SLAPD, SLAPADD]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if in_ci() {
        panic!(
            "CI is set, so {test} must run, but this machine lacks {} (apt-get install slapd ldap-utils)",
            missing.join(", ")
        );
    }
    println!("skipped: {test}: missing {}", missing.join(", "));
    false
}

/// The seeded users: alice (administrator), bob, carol, and dis (a disabled Active
/// Directory account: userAccountControl 514); each one's password is `<uid>-password`.
const SEED: &str = "\
dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

dn: uid=alice,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
sn: Liddell
mail: alice@example.org
userPassword: alice-password

dn: uid=bob,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: bob
cn: Bob Builder
sn: Builder
mail: bob@example.org
userPassword: bob-password

dn: uid=carol,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: carol
cn: Carol Directory
sn: Directory
mail: carol@example.org
userPassword: carol-password

dn: uid=dis,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: extensibleObject
uid: dis
cn: Disabled Account
sn: Account
userPassword: dis-password
userAccountControl: 514

dn: cn=admins,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: admins
member: cn=nobody,dc=example,dc=org
member: uid=alice,ou=people,dc=example,dc=org
";

/// A running (or stopped) test directory.
pub struct Slapd {
    dir: tempfile::TempDir,
    /// Port of `ldap://`.
    pub port: u16,
    /// Port of `ldaps://` (with TLS).
    pub tls_port: Option<u16>,
    /// The test CA's certificate (with TLS).
    pub ca_file: Option<PathBuf>,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA and a certificate for 127.0.0.1 / localhost signed by it, in `dir`.
fn make_certificates(dir: &Path) {
    run(Command::new(OPENSSL).current_dir(dir).args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=authserver test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]));
    run(Command::new(OPENSSL).current_dir(dir).args([
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]));
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(Command::new(OPENSSL).current_dir(dir).args([
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]));
}

impl Slapd {
    /// Configures, seeds and starts a directory (with `ldaps://` and StartTLS if `tls`).
    pub fn start(tls: bool) -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::create_dir(&db).unwrap();
        let mut conf = format!(
            "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/msuser.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
# an unauthenticated bind (a DN with an empty password) succeeds, as on many servers:
# authserver must refuse empty passwords before it binds
allow bind_anon_dn
",
            dir = dir.path().display()
        );
        let ca_file = if tls {
            make_certificates(dir.path());
            conf.push_str(&format!(
                "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\n",
                d = dir.path().display()
            ));
            Some(dir.path().join("ca.pem"))
        } else {
            None
        };
        conf.push_str(&format!(
            "database mdb
maxsize 10485760
suffix \"{BASE_DN}\"
rootdn \"{ROOT_DN}\"
rootpw {ROOT_PW}
directory {db}
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
",
            db = db.display()
        ));
        std::fs::write(dir.path().join("slapd.conf"), conf).unwrap();
        std::fs::write(dir.path().join("seed.ldif"), SEED).unwrap();
        run(Command::new(SLAPADD)
            .arg("-f")
            .arg(dir.path().join("slapd.conf"))
            .arg("-l")
            .arg(dir.path().join("seed.ldif")));
        let mut slapd = Slapd {
            dir,
            port: free_port(),
            tls_port: tls.then(free_port),
            ca_file,
            child: None,
        };
        slapd.restart();
        slapd
    }

    /// `ldap://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// `ldaps://localhost:<port>` (with TLS).
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://localhost:{}", self.tls_port.unwrap())
    }

    /// Starts the server again (on the same ports, with the same data) and waits until it
    /// accepts connections.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let mut urls = self.url();
        if let Some(p) = self.tls_port {
            urls.push_str(&format!(" ldaps://127.0.0.1:{p}"));
        }
        let child = Command::new(SLAPD)
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .args(["-h", &urls, "-d", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let out = self.child.take().unwrap().wait_with_output().unwrap();
                panic!(
                    "slapd exited ({status}): {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert!(Instant::now() < deadline, "slapd did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server (the directory "goes down").
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn admin(&self) -> ldap3::Ldap {
        let (conn, mut ldap) = LdapConnAsync::new(&self.url()).await.unwrap();
        ldap3::drive!(conn);
        ldap.simple_bind(ROOT_DN, ROOT_PW)
            .await
            .unwrap()
            .success()
            .unwrap();
        ldap
    }

    /// Adds a person `uid` with password `<uid>-password`.
    pub async fn add_user(&self, uid: &str, cn: &str, mail: &str) {
        let mut ldap = self.admin().await;
        let password = format!("{uid}-password");
        let attrs = vec![
            ("objectClass", ["inetOrgPerson"].into_iter().collect()),
            ("uid", [uid].into_iter().collect()),
            ("cn", [cn].into_iter().collect()),
            ("sn", [cn].into_iter().collect()),
            ("mail", [mail].into_iter().collect()),
            ("userPassword", [password.as_str()].into_iter().collect()),
        ];
        ldap.add(&user_dn(uid), attrs)
            .await
            .unwrap()
            .success()
            .unwrap();
        let _ = ldap.unbind().await;
    }

    /// Deletes an entry.
    pub async fn delete(&self, dn: &str) {
        let mut ldap = self.admin().await;
        ldap.delete(dn).await.unwrap().success().unwrap();
        let _ = ldap.unbind().await;
    }

    /// Replaces an attribute's values.
    pub async fn replace(&self, dn: &str, attr: &str, values: &[&str]) {
        let mut ldap = self.admin().await;
        let values = values.iter().copied().collect();
        ldap.modify(dn, vec![Mod::Replace(attr, values)])
            .await
            .unwrap()
            .success()
            .unwrap();
        let _ = ldap.unbind().await;
    }

    /// Adds `uid` to, or removes it from, the administrators group.
    pub async fn set_admin(&self, uid: &str, admin: bool) {
        let mut ldap = self.admin().await;
        let dn = user_dn(uid);
        let values = [dn.as_str()].into_iter().collect();
        let change = if admin {
            Mod::Add("member", values)
        } else {
            Mod::Delete("member", values)
        };
        ldap.modify(ADMINS, vec![change])
            .await
            .unwrap()
            .success()
            .unwrap();
        let _ = ldap.unbind().await;
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}
