//! The command line: `serve` (default), `check-config`, `user …`, `keys rotate`.
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, Settings};
use crate::keys::KeyManager;
use crate::password;
use crate::startup::Application;
use crate::store::{NewUser, Store};
use crate::telemetry;

/// Self-hosted OpenID Connect authorization server.
#[derive(Debug, Parser)]
#[command(name = "authserver", version, about)]
pub struct Cli {
    /// Properties file to read.
    #[arg(
        long,
        global = true,
        env = "AUTHSERVER_CONFIG",
        default_value = "authserver.properties"
    )]
    pub config: PathBuf,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Validate the configuration and print the effective settings (secrets masked).
    CheckConfig,
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add {
        /// Login name.
        name: String,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Display name.
        #[arg(long = "name")]
        display_name: Option<String>,
        /// May use the management API.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's password (ends their sessions and refresh tokens).
    Passwd {
        /// Login name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user (ends their sessions and tokens).
    Disable {
        /// Login name.
        name: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Login name.
        name: String,
    },
    /// List users, one per line.
    List,
}

/// `keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a new active signing key; old public keys stay published.
    Rotate,
}

/// A failure with its exit code.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
    fn other(message: impl Into<String>) -> Self {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::usage(e.to_string())
    }
}

/// Parses the process arguments and runs the command; returns the exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match run_cli(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("authserver: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn load_settings(path: &Path) -> Result<Settings, Failure> {
    let env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let loaded = Settings::load(path, &env)?;
    for w in &loaded.warnings {
        eprintln!("authserver: warning: {w}");
    }
    Ok(loaded.settings)
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::other(format!("cannot start the async runtime: {e}")))
}

fn run_cli(cli: Cli) -> Result<(), Failure> {
    let settings = load_settings(&cli.config)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            telemetry::init(&settings.logging);
            runtime()?.block_on(async {
                let app = Application::build(settings)
                    .await
                    .map_err(|e| Failure::other(format!("{e:#}")))?;
                app.run_until_stopped()
                    .await
                    .map_err(|e| Failure::other(format!("server error: {e}")))
            })
        }
        Command::CheckConfig => {
            print!("{}", settings.report());
            println!("# configuration OK ({})", cli.config.display());
            Ok(())
        }
        Command::Migrate => runtime()?.block_on(async {
            open_store(&settings).await?;
            println!("migrations applied");
            Ok(())
        }),
        Command::User(cmd) => runtime()?.block_on(user_command(&settings, cmd)),
        Command::Keys(KeysCommand::Rotate) => runtime()?.block_on(async {
            let store = open_store(&settings).await?;
            let kid =
                KeyManager::rotate(&store, settings.auth.signing_algorithm, SystemClock.now())
                    .await
                    .map_err(|e| Failure::other(e.to_string()))?;
            store.close().await;
            println!("{kid}");
            Ok(())
        }),
    }
}

async fn open_store(settings: &Settings) -> Result<Store, Failure> {
    Store::open(&settings.database.url, 2)
        .await
        .map(|s| s.with_token_lifetime(settings.auth.token_expiry))
        .map_err(|e| Failure::other(e.to_string()))
}

fn read_password(password_stdin: bool) -> Result<String, Failure> {
    if !password_stdin {
        return Err(Failure::usage(
            "pass the password on standard input with --password-stdin",
        ));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        Failure::other(format!("cannot read the password from standard input: {e}"))
    })?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    password::check_policy(password).map_err(Failure::usage)?;
    Ok(password.to_string())
}

async fn user_command(settings: &Settings, cmd: UserCommand) -> Result<(), Failure> {
    let now = SystemClock.now();
    match cmd {
        UserCommand::Add {
            name,
            email,
            display_name,
            admin,
            password_stdin,
        } => {
            password::check_username(&name).map_err(Failure::usage)?;
            let pw = read_password(password_stdin)?;
            let store = open_store(settings).await?;
            let hash = password::hash_async(pw).await.map_err(Failure::other)?;
            let new = NewUser {
                username: name,
                password_hash: hash,
                name: display_name,
                email,
                admin,
            };
            let user = store
                .create_user(&new, now)
                .await
                .map_err(|e| Failure::other(e.to_string()))?;
            println!("created user {}", user.username);
            store.close().await;
            Ok(())
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let pw = read_password(password_stdin)?;
            let store = open_store(settings).await?;
            let hash = password::hash_async(pw).await.map_err(Failure::other)?;
            store
                .set_password(&name, &hash, now)
                .await
                .map_err(|e| Failure::other(e.to_string()))?;
            println!("password of {name} changed; their sessions and tokens are ended");
            store.close().await;
            Ok(())
        }
        UserCommand::Disable { name } => set_disabled(settings, &name, true, now).await,
        UserCommand::Enable { name } => set_disabled(settings, &name, false, now).await,
        UserCommand::List => {
            let store = open_store(settings).await?;
            let users = store
                .list_users()
                .await
                .map_err(|e| Failure::other(e.to_string()))?;
            for u in users {
                let mut flags = Vec::new();
                if u.admin {
                    flags.push("admin");
                }
                if u.disabled {
                    flags.push("disabled");
                }
                println!(
                    "{}\t{}\t{}\t{}",
                    u.username,
                    u.name.as_deref().unwrap_or("-"),
                    u.email.as_deref().unwrap_or("-"),
                    if flags.is_empty() {
                        "-".to_string()
                    } else {
                        flags.join(",")
                    }
                );
            }
            store.close().await;
            Ok(())
        }
    }
}

async fn set_disabled(
    settings: &Settings,
    name: &str,
    disabled: bool,
    now: i64,
) -> Result<(), Failure> {
    let store = open_store(settings).await?;
    store
        .set_disabled(name, disabled, now)
        .await
        .map_err(|e| Failure::other(e.to_string()))?;
    println!("{} {name}", if disabled { "disabled" } else { "enabled" });
    store.close().await;
    Ok(())
}
