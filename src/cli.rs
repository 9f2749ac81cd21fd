//! The parts of the command line that need the library: logging setup, `serve`, `config check`.

use std::path::Path;

use anyhow::Context as _;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogConfig, LogFormat};

/// A multi-threaded tokio runtime.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")
}

/// A tokio runtime on the calling thread only, for the load tools (`ppgd bench`, `ppgd sim`):
/// they share the cores with the gateway they measure, and one thread spends less per request
/// than tasks woken across worker threads.
pub fn runtime_single_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")
}

/// tracing to stderr: human-readable or JSON lines; RUST_LOG overrides the configured level.
pub fn init_logging(cfg: &LogConfig) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&cfg.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match cfg.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// `ppgd serve --config FILE`.
pub fn serve(path: &Path) -> anyhow::Result<()> {
    let cfg = Config::load(path).with_context(|| format!("config {}", path.display()))?;
    init_logging(&cfg.log);
    let rt = runtime()?;
    rt.block_on(crate::app::serve(
        cfg,
        Some(path.to_path_buf()),
        shutdown_signal(),
    ))
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}

/// `ppgd store migrate --config FILE`: applies the configured store's migrations.
pub fn store_migrate(path: &Path) -> anyhow::Result<()> {
    let cfg = Config::load(path).with_context(|| format!("config {}", path.display()))?;
    let version = runtime()?.block_on(crate::app::migrate_store(&cfg))?;
    eprintln!("store schema at version {version}");
    Ok(())
}

/// `ppgd config check FILE`: validates and prints the resolved config with secrets masked.
pub fn config_check(path: &Path) -> anyhow::Result<()> {
    let cfg = Config::load(path).with_context(|| format!("config {}", path.display()))?;
    print!("{}", masked_toml(&cfg)?);
    eprintln!("{}: ok", path.display());
    Ok(())
}

/// The resolved config as TOML with every password replaced by "***".
pub fn masked_toml(cfg: &Config) -> anyhow::Result<String> {
    let mut cfg = cfg.clone();
    for pi in &mut cfg.pap.pi {
        pi.password = "***".into();
    }
    for smsc in &mut cfg.smsc {
        smsc.password = "***".into();
    }
    cfg.sim.password = "***".into();
    if let Some(url) = &mut cfg.store.url {
        *url = mask_url_password(url);
    }
    Ok(toml::to_string_pretty(&cfg)?)
}

fn mask_url_password(url: &str) -> String {
    // scheme://user:password@host/... → scheme://user:***@host/...
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_secret() {
        let mut cfg = Config::from_toml(include_str!("../config/ppgd.toml")).unwrap();
        cfg.store.url = Some("postgres://ppgd:hunter2@db/ppgd".into());
        let text = masked_toml(&cfg).unwrap();
        assert!(!text.contains("secret"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("postgres://ppgd:***@db/ppgd"));
        // The masked output is itself a valid config.
        Config::from_toml(&text.replace("***", "x")).unwrap();
    }
}
