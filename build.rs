//! Enables the PostgreSQL integration suite (`tests/postgres`) when
//! `AUTHSERVER_TEST_POSTGRES_URL` is set and non-empty. Nothing else.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=AUTHSERVER_TEST_POSTGRES_URL");
    println!("cargo::rustc-check-cfg=cfg(authserver_pg_tests)");
    if std::env::var_os("AUTHSERVER_TEST_POSTGRES_URL").is_some_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=authserver_pg_tests");
    }
}
