//! The command line: `serve` (default), `check-config`, `config reference`, `user …`,
//! `role …`, `service-account …`, `keys rotate`, `pat …`, `client …`.
mod clients;
mod registration;
mod roles;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::clock::rfc3339;
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, Settings};
use crate::domain::pat::{self, PatError, PatRequest, PatScope};
use crate::keys::KeyManager;
use crate::password;
use crate::startup::Application;
use crate::store::{NewUser, Store, StoreError};
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
    /// The configuration itself (needs no properties file).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage users (people; service accounts: `service-account`).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage roles.
    #[command(subcommand)]
    Role(roles::RoleCommand),
    /// Manage service accounts (API keys that are their own user).
    #[command(subcommand)]
    ServiceAccount(roles::ServiceAccountCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage personal access tokens.
    #[command(subcommand)]
    Pat(PatCommand),
    /// Manage registered OAuth clients.
    #[command(subcommand)]
    Client(Box<clients::ClientCommand>),
    /// Device authorization requests (RFC 8628).
    #[command(subcommand)]
    Device(DeviceCommand),
}

/// `device …`
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// List the pending requests: client, scope, created, expires (the codes themselves
    /// are stored only as hashes).
    List,
}

/// `config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the reference of every key (type, default, aliases, meaning) as Markdown;
    /// docs/configuration.md is its output.
    Reference,
}

/// `pat …`
#[derive(Debug, Subcommand)]
pub enum PatCommand {
    /// Create a personal access token for a user and print it (once).
    Create {
        /// Owner's login name.
        name: String,
        /// What the token is for.
        #[arg(long)]
        description: String,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// `data` (act as the user) or `management` (user administration; admins only).
        #[arg(long, default_value = "data", value_parser = ["data", "management"])]
        scope: String,
    },
    /// List personal access tokens (of one user, or all), one per line, id first.
    List {
        /// Owner's login name.
        name: Option<String>,
    },
    /// Revoke a personal access token (a running server drops it within seconds).
    Revoke {
        /// Its id (from `pat list`; it may begin with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
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
    /// List people, one per line: name, display name, e-mail, flags, roles (service
    /// accounts: `service-account list`).
    List,
    /// Show or change a user's roles (a change ends the user's tokens and sessions).
    Roles {
        /// Login name.
        name: String,
        /// Role to add (repeatable).
        #[arg(long = "add")]
        add: Vec<String>,
        /// Role to remove (repeatable).
        #[arg(long = "remove")]
        remove: Vec<String>,
    },
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
        .max_blocking_threads(16)
        .build()
        .map_err(|e| Failure::other(format!("cannot start the async runtime: {e}")))
}

fn run_cli(cli: Cli) -> Result<(), Failure> {
    if let Some(Command::Config(ConfigCommand::Reference)) = cli.command {
        print!("{}", crate::config::reference());
        return Ok(());
    }
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
        Command::Config(ConfigCommand::Reference) => {
            print!("{}", crate::config::reference());
            Ok(())
        }
        Command::Migrate => runtime()?.block_on(async {
            open_store(&settings).await?;
            println!("migrations applied");
            Ok(())
        }),
        Command::User(cmd) => runtime()?.block_on(user_command(&settings, cmd)),
        Command::Role(cmd) => runtime()?.block_on(roles::role(&settings, cmd)),
        Command::ServiceAccount(cmd) => runtime()?.block_on(roles::service_account(&settings, cmd)),
        Command::Pat(cmd) => runtime()?.block_on(pat_command(&settings, cmd)),
        Command::Client(cmd) => runtime()?.block_on(async {
            let store = open_store(&settings).await?;
            let result = clients::run(&settings, &store, *cmd, SystemClock.now()).await;
            store.close().await;
            result
        }),
        Command::Device(DeviceCommand::List) => runtime()?.block_on(async {
            let store = open_store(&settings).await?;
            let pending = store
                .pending_devices(SystemClock.now())
                .await
                .map_err(|e| Failure::other(e.to_string()))?;
            for d in pending {
                println!(
                    "{}\t{}\t{}\t{}",
                    d.client_id,
                    d.scope,
                    crate::clock::rfc3339(d.created_at),
                    crate::clock::rfc3339(d.expires_at)
                );
            }
            store.close().await;
            Ok(())
        }),
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
        UserCommand::Roles { name, add, remove } => {
            roles::user_roles(settings, name, add, remove).await
        }
        UserCommand::List => {
            let store = open_store(settings).await?;
            let users = store
                .list_users()
                .await
                .map_err(|e| Failure::other(e.to_string()))?;
            for u in users.into_iter().filter(|u| !u.service_account) {
                let mut flags = Vec::new();
                if u.admin {
                    flags.push("admin");
                }
                if u.disabled {
                    flags.push("disabled");
                }
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.username,
                    u.name.as_deref().unwrap_or("-"),
                    u.email.as_deref().unwrap_or("-"),
                    if flags.is_empty() {
                        "-".to_string()
                    } else {
                        flags.join(",")
                    },
                    if u.roles.is_empty() {
                        "-".to_string()
                    } else {
                        u.roles.join(",")
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

async fn pat_command(settings: &Settings, cmd: PatCommand) -> Result<(), Failure> {
    let now = SystemClock.now();
    let store = open_store(settings).await?;
    let result = pat_command_on(&store, cmd, now).await;
    store.close().await;
    result
}

async fn pat_command_on(store: &Store, cmd: PatCommand, now: i64) -> Result<(), Failure> {
    let failed = |e: StoreError| Failure::other(e.to_string());
    let user_named = |name: &str| {
        let name = name.to_string();
        async move {
            store
                .user_by_name(&name)
                .await
                .map_err(failed)?
                .ok_or_else(|| Failure::other(format!("user {name:?} not found")))
        }
    };
    match cmd {
        PatCommand::Create {
            name,
            description,
            expires_in_days,
            scope,
        } => {
            let scope = PatScope::parse(&scope)
                .ok_or_else(|| Failure::usage("--scope must be data or management"))?;
            let user = user_named(&name).await?;
            let request = PatRequest {
                description: &description,
                scope,
                expires_in_days,
            };
            let issued = pat::issue(store, &user, &request, now)
                .await
                .map_err(|e| match e {
                    PatError::Store(e) => failed(e),
                    PatError::NotAdmin => Failure::usage(format!(
                        "{name} is not an administrator; management tokens are for administrators only"
                    )),
                    PatError::Disabled => Failure::other(format!("user {name:?} is disabled")),
                    PatError::Validity => Failure::usage(format!(
                        "--expires-in-days must be from 1 to {}",
                        pat::MAX_DAYS
                    )),
                    other => Failure::usage(format!("--{}: {other}", other.field().unwrap_or("scope"))),
                })?;
            // stdout gets the token alone, so that `TOKEN=$(authserver pat create …)` works
            println!("{}", issued.token.expose());
            Ok(())
        }
        PatCommand::List { name } => {
            let owner = match name {
                Some(name) => Some(user_named(&name).await?.id),
                None => None,
            };
            for p in store.list_pats(owner).await.map_err(failed)? {
                let status = if p.revoked_at.is_some() {
                    "revoked"
                } else if p.expires_at.is_some_and(|e| e <= now) {
                    "expired"
                } else {
                    "active"
                };
                let time = |t: Option<i64>, none: &str| t.map_or(none.to_string(), rfc3339);
                println!(
                    "{}\t{}\t{}\t{}\tcreated={}\texpires={}\tlast_used={}\t{}",
                    p.id,
                    p.username,
                    p.scope,
                    status,
                    rfc3339(p.created_at),
                    time(p.expires_at, "never"),
                    time(p.last_used_at, "never"),
                    p.description.replace(['\t', '\n', '\r'], " "),
                );
            }
            Ok(())
        }
        PatCommand::Revoke { id } => {
            let was = store.pat_by_id(&id).await.map_err(failed)?;
            match was {
                None => Err(Failure::other(format!(
                    "personal access token {id:?} not found"
                ))),
                Some(p) if p.revoked_at.is_some() => {
                    println!("{id} was already revoked");
                    Ok(())
                }
                Some(_) => {
                    store.revoke_pat(&id, None, now).await.map_err(failed)?;
                    println!("revoked {id}");
                    Ok(())
                }
            }
        }
    }
}
