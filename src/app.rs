//! `ppgd serve`: wiring and graceful shutdown.
//!
//! Start order: metrics → (built-in simulator) → store → SMPP pool → dispatcher, receipts,
//! housekeeping, notifier → ops listener → PAP listener. Shutdown runs the other way: stop taking
//! PAP requests, let the dispatcher record what is in flight, drain and unbind SMPP, close the store.
//! Nothing accepted is lost at any point: it is in the store before it is answered.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::info;

use crate::config::Config;
use crate::config::StoreBackend;
use crate::dispatch::Dispatcher;
use crate::metrics::Metrics;
use crate::sim::{SimHandle, Simulator};
use crate::smpp::pool::Pool;
use crate::store::AnyStore;
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;

/// A running gateway.
pub struct Gateway {
    pub pap_addr: SocketAddr,
    pub metrics_addr: Option<SocketAddr>,
    pub sim: Option<SimHandle>,
    pub metrics: Metrics,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
    pool: Pool,
    drain: Duration,
    /// Replaces the PI accounts of the running PAP listener.
    reload_pis: Box<dyn Fn(Vec<crate::config::PiConfig>) + Send + Sync>,
    /// The config it runs with, to tell which reloaded changes need a restart.
    running: Config,
}

impl Gateway {
    /// Binds every listener and starts every task. Listen addresses with port 0 get a free port
    /// (tests): the bound addresses are in the returned handle.
    pub async fn start(cfg: Config) -> anyhow::Result<Gateway> {
        let metrics = Metrics::new();
        let mut cfg = cfg;

        let sim = if cfg.sim.enabled {
            if let Some(dir) = cfg.sim.record.as_ref().and_then(|p| p.parent())
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("sim.record directory {}", dir.display()))?;
            }
            let listener = TcpListener::bind(cfg.sim.listen)
                .await
                .with_context(|| format!("sim.listen {}", cfg.sim.listen))?;
            let handle = Simulator::start(cfg.sim.clone(), listener);
            let addr = handle.local_addr();
            info!(%addr, "built-in SMSC simulator listening");
            // SMSCs that point at the simulator's configured address follow it to its real port.
            for smsc in &mut cfg.smsc {
                if smsc.port == cfg.sim.listen.port() && cfg.sim.listen.port() == 0 {
                    smsc.port = addr.port();
                }
            }
            Some(handle)
        } else {
            None
        };

        // Before the store opens: a bad CA file is a start-up error, not a notification failure
        // days later.
        let notify_client =
            crate::notify::PapClient::with_tls(cfg.notify.timeout, cfg.notify.tls.as_ref())
                .map_err(|e| anyhow::anyhow!("notify.tls: {e}"))?;
        let store = Arc::new(open_store(&cfg, &metrics).await?);

        let (receipt_tx, receipt_rx) = mpsc::channel(1024);
        let pool = Pool::start(&cfg.smsc, &cfg.route, metrics.clone(), receipt_tx);

        let (shutdown, shutdown_rx) = watch::channel(false);
        let dispatcher = Dispatcher::new(
            store.clone(),
            pool.clone(),
            cfg.dispatch.clone(),
            &cfg.smsc,
            cfg.store.lease,
            metrics.clone(),
            shutdown_rx.clone(),
        );
        let mut tasks = JoinSet::new();
        tasks.spawn(dispatcher.clone().run());
        tasks.spawn(dispatcher.clone().run_receipts(receipt_rx));
        tasks.spawn(
            dispatcher
                .clone()
                .run_housekeeping(cfg.store.retention, shutdown_rx.clone()),
        );
        tasks.spawn(crate::notify::run(
            store.clone(),
            cfg.notify.clone(),
            notify_client,
            metrics.clone(),
            shutdown_rx.clone(),
        ));

        let metrics_addr = match cfg.metrics.listen {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("metrics.listen {addr}"))?;
                let bound = listener.local_addr()?;
                let ready_pool = pool.clone();
                let ready: crate::http::ops::Readiness = Arc::new(move || {
                    if ready_pool.bound_sessions() > 0 {
                        Ok(())
                    } else {
                        Err("no SMPP session is bound".into())
                    }
                });
                let router = crate::http::ops::router(metrics.clone(), ready);
                let mut stop = shutdown_rx.clone();
                tasks.spawn(async move {
                    let _ = axum::serve(listener, router)
                        .with_graceful_shutdown(async move {
                            let _ = stop.changed().await;
                        })
                        .await;
                });
                info!(addr = %bound, "metrics listening on /metrics, /healthz, /readyz");
                Some(bound)
            }
            None => None,
        };

        let pap_listener = TcpListener::bind(cfg.pap.listen)
            .await
            .with_context(|| format!("pap.listen {}", cfg.pap.listen))?;
        let pap_addr = pap_listener.local_addr()?;
        let state = crate::http::PapState::new(
            &cfg,
            store.clone(),
            pool.clone(),
            metrics.clone(),
            dispatcher.clone(),
        );
        let reload_state = state.clone();
        let reload_pis = Box::new(move |pis| reload_state.reload_pis(pis));
        let stop = shutdown_rx.clone();
        let tls = cfg.pap.tls.clone();
        tasks.spawn(async move {
            if let Err(e) = crate::http::serve(pap_listener, tls, state, stop).await {
                tracing::error!(error = %e, "PAP listener failed");
            }
        });
        info!(addr = %pap_addr, path = %cfg.pap.path, tls = cfg.pap.tls.is_some(), "PAP listening");

        let drain = cfg
            .smsc
            .iter()
            .map(|s| s.shutdown_timeout)
            .max()
            .unwrap_or(Duration::from_secs(10));
        Ok(Gateway {
            pap_addr,
            metrics_addr,
            sim,
            metrics,
            shutdown,
            tasks,
            pool,
            drain,
            reload_pis,
            running: cfg,
        })
    }

    /// SIGHUP: takes the new PI accounts (credentials, networks, prefixes, rates) at once, without
    /// touching SMPP sessions or requests in flight. Returns the tables that changed but need a
    /// restart to take effect (listeners, store, SMSCs, routes, dispatch, notify, sim).
    pub fn reload(&self, new: &Config) -> Vec<&'static str> {
        (self.reload_pis)(new.pap.pi.clone());
        let same = |a: &dyn erased::Ser, b: &dyn erased::Ser| a.canonical() == b.canonical();
        let r = &self.running;
        let mut restart = Vec::new();
        if !same(
            &(&r.pap.listen, &r.pap.path, &r.pap.tls, r.pap.body_limit),
            &(
                &new.pap.listen,
                &new.pap.path,
                &new.pap.tls,
                new.pap.body_limit,
            ),
        ) {
            restart.push("pap (listener)");
        }
        for (name, a, b) in [
            (
                "store",
                &r.store as &dyn erased::Ser,
                &new.store as &dyn erased::Ser,
            ),
            ("smsc", &r.smsc, &new.smsc),
            ("route", &r.route, &new.route),
            ("dispatch", &r.dispatch, &new.dispatch),
            ("notify", &r.notify, &new.notify),
            ("metrics", &r.metrics, &new.metrics),
            ("log", &r.log, &new.log),
            ("sim", &r.sim, &new.sim),
        ] {
            if !same(a, b) {
                restart.push(name);
            }
        }
        restart
    }

    /// Stops taking requests, records what is in flight, drains and unbinds SMPP, closes the store.
    pub async fn stop(mut self) {
        info!("shutting down: no new PAP requests");
        let _ = self.shutdown.send(true);
        // The dispatcher finishes the submissions in flight before its task ends.
        let pool = self.pool.clone();
        let drain = self.drain;
        let wait_tasks = async {
            while let Some(r) = self.tasks.join_next().await {
                if let Err(e) = r
                    && e.is_panic()
                {
                    tracing::error!(error = %e, "a task panicked during shutdown");
                }
                // The receipt task ends only when the pool is gone; do not wait for it forever.
                if self.tasks.len() <= 1 {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(drain + Duration::from_secs(5), wait_tasks).await;
        pool.shutdown(drain).await;
        self.tasks.abort_all();
        if let Some(sim) = self.sim.take() {
            sim.shutdown();
        }
        info!("stopped");
    }
}

/// Opens the store `[store] backend` names (migrations applied).
pub async fn open_store(cfg: &Config, metrics: &Metrics) -> anyhow::Result<AnyStore> {
    Ok(match cfg.store.backend {
        StoreBackend::Embedded => AnyStore::Embedded(
            SqliteStore::open(
                &cfg.store.path,
                cfg.store.queue_limit,
                cfg.store.batch_max,
                metrics.clone(),
            )
            .with_context(|| format!("store.path {}", cfg.store.path.display()))?,
        ),
        StoreBackend::Postgres => {
            let url = cfg
                .store
                .url
                .as_deref()
                .context("store.url is required when store.backend = \"postgres\"")?;
            AnyStore::Postgres(
                PgStore::connect(
                    url,
                    cfg.store.tls.as_ref(),
                    cfg.store.queue_limit,
                    cfg.store.batch_max,
                    metrics.clone(),
                )
                .await
                .context("store.url (postgres)")?,
            )
        }
    })
}

/// `ppgd store migrate`: applies the schema migrations of the configured backend and returns
/// the schema version now in force.
pub async fn migrate_store(cfg: &Config) -> anyhow::Result<i64> {
    match cfg.store.backend {
        StoreBackend::Embedded => {
            // Opening the embedded store applies its migrations.
            let metrics = Metrics::new();
            drop(open_store(cfg, &metrics).await?);
            Ok(crate::store::sqlite::schema::MIGRATIONS
                .last()
                .map(|(v, _)| *v)
                .unwrap_or(0))
        }
        StoreBackend::Postgres => {
            let url = cfg
                .store
                .url
                .as_deref()
                .context("store.url is required when store.backend = \"postgres\"")?;
            Ok(crate::store::postgres::migrate(url, cfg.store.tls.as_ref())
                .await
                .context("store.url (postgres)")?)
        }
    }
}

/// Runs the gateway until `signal` resolves, then shuts it down gracefully. On SIGHUP the config
/// file `path` is read again and the PI accounts are replaced (see [`Gateway::reload`]).
pub async fn serve(
    cfg: Config,
    path: Option<std::path::PathBuf>,
    signal: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let gw = Gateway::start(cfg).await?;
    tokio::pin!(signal);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    loop {
        #[cfg(unix)]
        let hangup = hup.recv();
        #[cfg(not(unix))]
        let hangup = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = &mut signal => break,
            _ = hangup => match path.as_deref().map(Config::load) {
                Some(Ok(new)) => {
                    let restart = gw.reload(&new);
                    info!(pis = new.pap.pi.len(), "SIGHUP: PI accounts reloaded");
                    if !restart.is_empty() {
                        tracing::warn!(tables = ?restart, "SIGHUP: these changed tables take effect only after a restart");
                    }
                }
                Some(Err(e)) => tracing::error!(error = %e, "SIGHUP: the config does not load; keeping the running one"),
                None => tracing::warn!("SIGHUP: no config file to reload"),
            },
        }
    }
    gw.stop().await;
    Ok(())
}

/// Compares config tables by their serialized form (every config struct is Serialize).
mod erased {
    pub trait Ser {
        fn canonical(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn canonical(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}
