//! Assembles the server: shared state, the router, the listener, and the
//! orderly shutdown (stop accepting → tell clients to reconnect → let the
//! store commit what is in flight → exit).

use crate::{
    api,
    auth::tokens::TokenKeys,
    blob::{BlobStore, FsBlobs},
    chat::Limiters,
    config::Config,
    error::ApiError,
    hub::Hub,
    ws,
};
use axum::{
    Router,
    extract::{ConnectInfo, FromRequestParts},
    http::request::Parts,
    routing::get,
};
use ipnet::IpNet;
use kefu_store::{Store, StoreOptions};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;

/// Everything a request handler or connection may need.
pub struct AppState {
    pub cfg: Arc<Config>,
    pub store: Store,
    pub hub: Hub,
    pub keys: TokenKeys,
    pub blobs: Arc<dyn BlobStore>,
    pub limiters: Limiters,
    /// Cancelled when the server starts draining.
    pub shutdown: CancellationToken,
    pub trusted_proxies: Vec<IpNet>,
    pub inboxes: crate::inbox_cache::InboxCache,
    /// The routing rules in force per workspace.
    pub routing: crate::routing::Rules,
    /// The routing worker: new conversations to route, lines to move up.
    pub router: crate::routing::Router,
    /// Conversation commands in flight (see [`crate::conversations::run`]):
    /// shutdown waits for them before the store closes.
    pub work: tokio_util::task::TaskTracker,
    /// Wakes the outbox's consumers when new events are committed.
    pub outbox: crate::outbox::Wake,
    /// Every open connection is counted here (see `net`).
    pub gate: Arc<crate::net::gate::Gate>,
    /// Outgoing webhooks: the sending client and its wake-up.
    pub webhooks: crate::webhooks::Webhooks,
    /// E-mail: the SMTP transport (none when `[mail]` is off) and the sender's wake-up.
    pub mail: crate::mail::Mailer,
    /// Web Push: the VAPID key (none when `[push]` is off), the client and
    /// the notifications in flight.
    pub push: crate::push::Pusher,
    /// Each workspace's knowledge base, indexed for the bot.
    pub bots: crate::bot::Bots,
    /// Each workspace's sensitive words, compiled (see [`crate::sensitive`]).
    pub sensitive: crate::sensitive::Filters,
    /// The bot's semantic and LLM plugins as configured (`[bot]`).
    pub plugins: crate::bot::plugins::Plugins,
    /// How far the reports consumer has counted.
    pub reports: crate::reports::Progress,
}

impl AppState {
    /// Resolves once every routing job submitted so far has finished (tests
    /// wait on this instead of sleeping).
    pub async fn routing_idle(&self) {
        self.router.idle().await
    }
}

impl AppState {
    pub fn is_trusted_proxy(&self, ip: std::net::IpAddr) -> bool {
        crate::client_ip::is_trusted(&ip, &self.trusted_proxies)
    }
}

pub type SharedState = Arc<AppState>;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("store: {0}")]
    Store(#[from] kefu_store::StoreError),
    #[error("webhooks: {0}")]
    Webhooks(String),
    #[error("mail: {0}")]
    Mail(String),
    #[error("bot: {0}")]
    Bot(#[from] crate::bot::embed::EmbedError),
    #[error("push: {0}")]
    Push(#[from] crate::push::PushError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Opens (and migrates) the store and builds the state. `cfg` must have been
/// through [`Config::prepare_data_dir`].
pub async fn state(cfg: Config) -> Result<SharedState, StartError> {
    let opts = StoreOptions {
        max_batch: cfg.store.max_batch,
        pool_size: cfg.store.pool_size,
        bulk: false,
    };
    let store = Store::open(cfg.database_url().expose(), &opts).await?;
    store.migrate().await?;
    let trusted_proxies = cfg
        .trusted_proxies
        .iter()
        .filter_map(|p| crate::client_ip::parse_net(p).ok())
        .collect();
    let gate = crate::net::gate::Gate::new(crate::net::caps(&cfg.limits, crate::net::fd_limit()));
    let webhooks = crate::webhooks::Webhooks::new(&cfg.webhooks)
        .map_err(|e| StartError::Webhooks(e.to_string()))?;
    let mail = crate::mail::Mailer::new(&cfg.mail, cfg.secrets.token_key.expose())
        .map_err(StartError::Mail)?;
    let push = crate::push::Pusher::new(&cfg)?;
    let plugins = crate::bot::plugins::Plugins::new(&cfg.bot).await?;
    Ok(Arc::new(AppState {
        mail,
        push,
        gate,
        webhooks,
        keys: TokenKeys::new(cfg.secrets.token_key.expose()),
        blobs: Arc::new(FsBlobs::new(cfg.data_dir.join("uploads"))),
        limiters: Limiters::new(&cfg.limits),
        hub: Hub::default(),
        shutdown: CancellationToken::new(),
        trusted_proxies,
        inboxes: Default::default(),
        bots: Default::default(),
        sensitive: Default::default(),
        plugins,
        routing: Default::default(),
        router: Default::default(),
        work: Default::default(),
        outbox: Default::default(),
        reports: Default::default(),
        store,
        cfg: Arc::new(cfg),
    }))
    .inspect(|state| state.router.start(state))
}

/// The whole HTTP surface.
pub fn router(state: SharedState) -> Router {
    let (api, _) = api::router(&state.cfg.limits);
    Router::new()
        .route("/ws", get(ws::upgrade))
        .merge(api)
        .merge(crate::web::router())
        .fallback(|| async { ApiError::not_found("route") })
        // Every route, the WebSocket and the web pages included (PostgreSQL refuses NUL in text).
        .layer(axum::middleware::from_fn(crate::input::refuse_nul))
        .layer(cors())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// The widget calls the API from customers' sites. Auth is a bearer token,
/// never a cookie, so a cross-origin caller gains nothing it did not already
/// hold; which sites may embed an inbox is checked per inbox (Origin header)
/// by the widget session endpoint and the WebSocket.
fn cors() -> tower_http::cors::CorsLayer {
    use axum::http::{Method, header};
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600))
}

/// Binds with a deep accept backlog (tokio's default is 1024), so a burst
/// of reconnecting clients is not refused.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    let err = |source| StartError::Listen { addr, source };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(err)?;
    socket.set_reuseaddr(true).map_err(err)?;
    socket.bind(addr).map_err(err)?;
    socket.listen(4096).map_err(err)
}

/// Serves until `state.shutdown` is cancelled, then drains.
pub async fn serve(state: SharedState, listener: TcpListener) -> std::io::Result<()> {
    let pruner = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut t = tokio::time::interval(Duration::from_secs(60));
            loop {
                t.tick().await;
                state.limiters.prune();
                state.push.tests.retain_recent();
                state.gate.prune(std::time::Instant::now());
            }
        })
    };
    let watcher = crate::routing::spawn_rules_file_watcher(&state);
    let timeouts = crate::routing::spawn_queue_timeouts(&state);
    let pruner_outbox = tokio::spawn(crate::outbox::prune(state.clone()));
    let webhooks = crate::webhooks::spawn(&state);
    let mail = crate::mail::spawn(&state);
    let notify = crate::notify::spawn(&state);
    let bot = crate::bot::runner::spawn(&state);
    let reports = crate::reports::spawn(&state);
    // Before serving, so an enabled bus hears of every change from here on.
    let buses = crate::bus::start(&state).await;
    crate::net::serve(state.clone(), listener, router(state.clone())).await;
    pruner.abort();
    if let Some(w) = watcher {
        w.abort();
    }
    // Both stop at their next tick (cancelled), never mid-way through a change.
    let _ = timeouts.await;
    let _ = pruner_outbox.await;
    // Stops claiming; attempts in flight get a moment to finish and record.
    let _ = webhooks.await;
    if let Some(m) = mail {
        let _ = m.await;
    }
    let _ = notify.await;
    let _ = bot.await;
    let _ = reports.await;
    for bus in buses {
        let _ = bus.await;
    }
    // Connections were told to reconnect elsewhere; give them a moment to go.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while state.hub.connection_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Commands in flight, then the routing they asked for (which may run
    // commands of its own), before the store closes.
    state.work.close();
    state.work.wait().await;
    state.router.shutdown().await;
    state.work.wait().await;
    // Notifications those commands asked for, while the store can record them.
    state.push.drain(Duration::from_secs(5)).await;
    state.store.close().await;
    tracing::info!("stopped: store flushed");
    Ok(())
}

/// The client address (through trusted proxies only).
pub struct ClientIp(pub std::net::IpAddr);

impl FromRequestParts<SharedState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        Ok(ClientIp(crate::client_ip::client_ip(
            peer,
            &parts.headers,
            &state.trusted_proxies,
        )))
    }
}
