//! Running the `authserver` binary, as an operator would.
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A command running the `authserver` binary without the test's `AUTHSERVER_*` variables
/// (the server would read them as settings, and warns about unknown ones such as
/// [`POSTGRES_URL_ENV`]).
pub fn authserver_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authserver"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AUTHSERVER_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs the `authserver` binary with `--config path`.
pub fn run_cli(config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = authserver_command();
    cmd.arg("--config").arg(config).args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn authserver");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("authserver runs")
}

/// What a command printed on standard output, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a command printed on standard error, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
