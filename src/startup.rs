//! Building and running the HTTP server. Tests go through exactly this path, on port 0.
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{middleware, Router};
use bytes::Bytes;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

mod tls;

use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::domain::certificate::CertificateAuth;
use crate::domain::credentials::CredentialCache;
use crate::domain::pending::{self, PendingSeal};
use crate::domain::redirect::Whitelist;
use crate::domain::revocation::Revocations;
use crate::domain::saml::SamlSp;
use crate::domain::services::Services;
use crate::domain::upstream::Upstreams;
use crate::housekeeping;
use crate::keys::KeyManager;
use crate::oauth;
use crate::oauth::discovery::ProviderMetadata;
use crate::state::{AppState, WebState};
use crate::store::Store;
use crate::telemetry;
use crate::throttle::Throttle;

/// Largest request body accepted on any route.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How often each instance re-reads state other processes may change (keys, …).
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(2);

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    port: u16,
    tls: Option<tls::Tls>,
}

impl Application {
    /// Opens the database, loads the keys and binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// Same as [`Application::build`] with an explicit clock (tests move time).
    pub async fn build_with_clock(
        settings: Settings,
        clock: SharedClock,
    ) -> anyhow::Result<Application> {
        Self::build_on(settings, clock, None).await
    }

    /// Builds on an already bound listener (tests bind port 0 first so that the issuer
    /// in `server.public.url` can name the real port).
    pub async fn build_on(
        settings: Settings,
        clock: SharedClock,
        listener: Option<std::net::TcpListener>,
    ) -> anyhow::Result<Application> {
        let store = Store::open(&settings.database.url, settings.database.max_connections)
            .await?
            .with_token_lifetime(settings.auth.token_expiry);
        let revocations = Revocations::load(&store, clock.now()).await?;
        let pending_secret = store
            .shared_secret(
                pending::SECRET_NAME,
                &PendingSeal::generate_secret(),
                clock.now(),
            )
            .await?;
        let keys = KeyManager::load(store.clone(), &settings, clock.now()).await?;
        let certificates = CertificateAuth::load(&settings.certificate)
            .await
            .map_err(|e| anyhow::anyhow!("{}: {e}", settings.source.display()))?
            .map(Arc::new);
        if let Some(next) = certificates.as_ref().and_then(|c| c.next_update()) {
            if next <= clock.now() {
                tracing::warn!(
                    "the certificate revocation list is past its nextUpdate: certificate \
                     sign-ins are refused until a fresh list is loaded"
                );
            }
        }
        let tls = tls::load(
            &settings,
            certificates.as_ref().map(|c| c.handshake_verifier()),
        )
        .await?;
        let directory = match &settings.ldap {
            Some(ldap) => Some(Arc::new(
                crate::directory::Directory::new(ldap)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", settings.source.display()))?,
            )),
            None => None,
        };
        let discovery = Bytes::from(serde_json::to_vec(&ProviderMetadata::new(&settings))?);
        let listener = match listener {
            Some(l) => {
                l.set_nonblocking(true)?;
                TcpListener::from_std(l)?
            }
            None => {
                let addr = SocketAddr::new(settings.server.address, settings.server.port);
                TcpListener::bind(addr)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?
            }
        };
        let port = listener.local_addr()?.port();
        crate::metrics::handle();
        let issuer = url::Url::parse(&settings.issuer())?;
        let base_path: Arc<str> = Arc::from(issuer.path().trim_end_matches('/'));
        let upstreams = Arc::new(Upstreams::new(&settings)?);
        let saml = SamlSp::load(&settings)
            .map_err(|e| anyhow::anyhow!("{}: {e}", settings.source.display()))?;
        let state = AppState::new(WebState {
            upstream_buttons: upstreams.buttons().into(),
            // with the local passwords off and no directory, only the providers sign in
            whitelist: Arc::new(Whitelist::new(&settings.auth.redirect_whitelist)),
            base_path,
            secure_cookies: issuer.scheme() == "https",
            pending: PendingSeal::new(&pending_secret),
            registration_limits: Default::default(),
            discovery,
            services: Services {
                revocations: Arc::new(revocations),
                credentials: Arc::new(CredentialCache::new()),
                device_polls: Arc::new(crate::domain::poll_gate::PollGate::new()),
                issued: Arc::new(crate::domain::issued::IssuedPairs::new()),
                throttle: Arc::new(Throttle::new(store.clone())),
                certificates,
                directory,
                upstreams,
                saml,
                settings: Arc::new(settings),
                store,
                keys: Arc::new(keys),
                clock,
            },
        });
        Ok(Application {
            listener,
            state,
            port,
            tls,
        })
    }

    /// The bound port (useful with `server.port=0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state (tests reach into the store through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, then drains in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` completes.
    pub async fn run_until<F>(self, signal: F) -> std::io::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let state = self.state.clone();
        let reloader = tokio::spawn(reload_loop(state.clone()));
        let listener = tokio::spawn(listen_loop(state.clone()));
        let janitor = tokio::spawn(housekeeping::run(state.services.clone()));
        let crl_refresh = state
            .certificates
            .clone()
            .map(|c| tokio::spawn(refresh_crls(c)));
        // discovery of the upstream providers, in the background: one that is down does
        // not keep the server from starting
        let upstreams = tokio::spawn(state.upstreams.clone().run());
        // the SAML identity provider's metadata URL, likewise
        let saml_metadata = state.saml.clone().map(|sp| tokio::spawn(sp.run()));
        let app = router(state.clone());
        tracing::info!(
            port = self.port,
            issuer = %state.issuer(),
            "authserver listening"
        );
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let result = match self.tls {
            None => {
                let ignore = tokio::spawn(ignore_sighup());
                let served = axum::serve(self.listener, service)
                    .with_graceful_shutdown(signal)
                    .await;
                ignore.abort();
                served
            }
            Some(tls) => {
                let handle = axum_server::Handle::new();
                let stopper = handle.clone();
                tokio::spawn(async move {
                    signal.await;
                    stopper.graceful_shutdown(Some(Duration::from_secs(30)));
                });
                let config = tls.config.clone();
                let reload = tokio::spawn(tls::reload_on_sighup(tls));
                let listener = self.listener.into_std()?;
                let served = axum_server::from_tcp_rustls(listener, config)?
                    .handle(handle)
                    .serve(service)
                    .await;
                reload.abort();
                served
            }
        };
        reloader.abort();
        listener.abort();
        janitor.abort();
        if let Some(task) = crl_refresh {
            task.abort();
        }
        upstreams.abort();
        if let Some(task) = saml_metadata {
            task.abort();
        }
        // last-use times of PATs are kept in memory between flushes: write them now
        if let Err(e) = crate::domain::pat::flush_usage(&state.store, &state.revocations).await {
            tracing::warn!(error = %e, "writing PAT last-use times failed");
        }
        state.store.close().await;
        tracing::info!("authserver stopped");
        result
    }
}

/// The whole HTTP surface: the static documents (discovery, JWKS) first, answered without
/// the middleware stack (see [`crate::web::static_doc`]), then everything else through it.
pub fn router(state: AppState) -> Router {
    let rest = Router::new()
        .nest("/authentication", oauth::router())
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::web::metrics::render))
        .layer(middleware::from_fn(crate::metrics::track))
        .layer(middleware::from_fn(telemetry::log_request))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .with_state(state.clone());
    let mut fast = Router::new().route(oauth::jwks::PATH, oauth::jwks::route(state.keys.clone()));
    for path in oauth::discovery::PATHS {
        fast = fast.route(path, oauth::discovery::route(path, state.discovery.clone()));
    }
    fast.fallback_service(rest)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    if state.store.ping().await {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}

/// On PostgreSQL, applies other processes' changes as soon as they commit (`LISTEN`); the
/// reload loop's poll stays as the fallback (and is all SQLite has).
async fn listen_loop(state: AppState) {
    let mut backoff = Duration::from_millis(500);
    loop {
        match state.store.listen_changes().await {
            Ok(None) => return,
            Ok(Some(mut listener)) => {
                backoff = Duration::from_millis(500);
                loop {
                    match listener.recv().await {
                        Ok(crate::store::Change::Keys) => {
                            if let Err(e) = state.keys.reload(state.now()).await {
                                tracing::warn!(error = %e, "reloading signing keys failed");
                            }
                        }
                        Ok(crate::store::Change::Events) => state.sync_revocations().await,
                        Err(e) => {
                            tracing::warn!(error = %e, "change notifications interrupted");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot listen for change notifications"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(RELOAD_INTERVAL * 15);
    }
}

/// Picks up changes made by the CLI or other instances (key rotation, …).
async fn reload_loop(state: AppState) {
    let mut tick = tokio::time::interval(RELOAD_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = state.keys.reload(state.now()).await {
            tracing::warn!(error = %e, "reloading signing keys failed");
        }
        state.sync_revocations().await;
        // histograms keep raw samples until drained: drain them even when nobody scrapes
        if let Some(metrics) = crate::metrics::handle() {
            metrics.run_upkeep();
        }
    }
}

/// Reads the certificate revocation lists again every
/// `authentication.certificate.revocation.list.refresh`.
async fn refresh_crls(certificates: Arc<CertificateAuth>) {
    let mut tick = tokio::time::interval(certificates.refresh_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        certificates.refresh().await;
    }
}

/// Without native TLS there is nothing to reload: SIGHUP (`systemctl reload`) is logged
/// instead of killing the process.
async fn ignore_sighup() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut hup) = signal(SignalKind::hangup()) {
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP received; nothing to reload without server.ssl.enabled");
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; draining connections");
}
