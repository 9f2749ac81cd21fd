//! The one config file: TOML plus `PPGD_` environment overrides (figment), every table
//! `deny_unknown_fields`, every duration a humantime string ("30s", "500ms"), then [`Config::validate`].
//!
//! `config/ppgd.toml` documents every key with its default. Keys are a contract with operators and
//! test harnesses: add, never rename.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::smpp::pdu::MessageIdFormat;
use crate::sms::Carriage;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub pap: PapConfig,
    pub store: StoreConfig,
    pub smsc: Vec<SmscConfig>,
    pub route: Vec<RouteConfig>,
    pub dispatch: DispatchConfig,
    pub notify: NotifyConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    pub sim: SimConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PapConfig {
    /// Address of the PAP listener.
    pub listen: SocketAddr,
    /// The request path PIs POST to.
    pub path: String,
    /// Requests with larger bodies get 413 before they are read in full.
    pub body_limit: usize,
    /// HTTPS: PEM certificate chain and key. Absent = plain HTTP.
    pub tls: Option<TlsServerConfig>,
    /// The URL ppgd names as sender-address in its answers (default: derived from listen + path).
    pub sender_address: Option<String>,
    /// The product-name ppgd puts in its answers.
    pub sender_name: String,
    /// Push Initiator accounts.
    pub pi: Vec<PiConfig>,
}

impl Default for PapConfig {
    fn default() -> Self {
        PapConfig {
            listen: "127.0.0.1:8080".parse().expect("literal address"),
            path: "/wappush".into(),
            body_limit: 256 * 1024,
            tls: None,
            sender_address: None,
            sender_name: concat!("ppgd/", env!("CARGO_PKG_VERSION")).into(),
            pi: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiConfig {
    pub name: String,
    pub username: String,
    pub password: String,
    /// Source networks the PI may connect from. Empty = any.
    #[serde(default)]
    pub allow_ips: Vec<IpNet>,
    /// Destination number prefixes (E.164 with `+`) the PI may push to. Absent = any.
    #[serde(default)]
    pub allow_prefixes: Option<Vec<String>>,
    /// Push-messages per second this PI may send (a smooth token bucket). Absent = unlimited.
    #[serde(default)]
    pub rate: Option<f64>,
    /// Answer PAP outcomes with HTTP 200 instead of 202 (PIs written for BlackBerry's PPG want 200).
    #[serde(default)]
    pub http_200: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    Embedded,
    Postgres,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub backend: StoreBackend,
    /// Embedded: the directory that holds ppgd.sqlite.
    pub path: PathBuf,
    /// Postgres: connection URL.
    pub url: Option<String>,
    /// Postgres: how long an instance holds a push before another may take it over.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// Final pushes are kept this long for statusquery and duplicate push-id checks.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// Recipients accepted and not yet final, past which new pushes get 4001 / HTTP 503.
    pub queue_limit: u64,
    /// Group commit: at most this many writes in one transaction.
    pub batch_max: usize,
    /// Postgres: TLS to the server, verified against this CA (and `server_name`, default the
    /// URL's host). Set, TLS is required; unset, the connection is plain.
    pub tls: Option<TlsClientConfig>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: StoreBackend::Embedded,
            path: PathBuf::from("data"),
            url: None,
            lease: Duration::from_secs(30),
            retention: Duration::from_secs(7 * 86_400),
            queue_limit: 1_000_000,
            batch_max: 256,
            tls: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BindMode {
    Transmitter,
    Transceiver,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmscConfig {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub system_id: String,
    pub password: String,
    pub system_type: String,
    pub bind: BindMode,
    /// Bind's addr_ton / addr_npi / address_range.
    pub addr_ton: u8,
    pub addr_npi: u8,
    pub address_range: String,
    /// Sessions (binds) kept open to this SMSC.
    pub sessions: usize,
    /// submit_sm outstanding per session without waiting for the response.
    pub window: usize,
    /// Messages per second per session (smooth). Absent = unlimited.
    pub session_rate: Option<f64>,
    /// Messages per second over all sessions of this SMSC. Absent = unlimited.
    pub rate: Option<f64>,
    pub source_addr: String,
    pub source_ton: u8,
    pub source_npi: u8,
    pub dest_ton: u8,
    pub dest_npi: u8,
    /// service_type of submit_sm ("WAP" is defined by SMPP 3.4; empty = default).
    pub service_type: String,
    /// How segmentation and ports travel: udh8, udh16, sar_tlv, message_payload.
    pub carriage: Carriage,
    /// 0x04 (8-bit, no class) by default; some operators want 0xF5.
    pub data_coding: u8,
    /// The most segments one push may take on this SMSC.
    pub max_segments: usize,
    /// registered_delivery for pushes that ask for confirmed delivery (0x01 = receipt on success and failure).
    pub registered_delivery: u8,
    /// Default validity when the push has no deliver-before-timestamp. Absent = SMSC default.
    #[serde(with = "humantime_serde")]
    pub validity: Option<Duration>,
    #[serde(with = "humantime_serde")]
    pub enquire_link: Duration,
    #[serde(with = "humantime_serde")]
    pub response_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub bind_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub reconnect_min: Duration,
    #[serde(with = "humantime_serde")]
    pub reconnect_max: Duration,
    /// Learn the SMSC's rate from ESME_RTHROTTLED / ESME_RMSGQFUL (AIMD per session, see
    /// `smpp::session::AdaptiveRate`), under `rate` / `session_rate` as hard ceilings. false = a
    /// fixed rate and a `throttle_pause` after every throttled answer.
    pub adaptive_rate: bool,
    /// How long a session pauses after ESME_RTHROTTLED / ESME_RMSGQFUL: after every one without
    /// `adaptive_rate`; with it, only when the rate is cut, and at most 100 ms.
    #[serde(with = "humantime_serde")]
    pub throttle_pause: Duration,
    /// How long transient failures are retried before the push fails for that address.
    #[serde(with = "humantime_serde")]
    pub retry_deadline: Duration,
    /// Unbind deadline at shutdown.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// TLS to the SMSC.
    pub tls: Option<TlsClientConfig>,
    /// How the SMSC writes message_id in submit_sm_resp: string (opaque, the SMPP rule),
    /// decimal or hex. With receipt_message_id, Kannel's `msg-id-type`.
    pub submit_message_id: MessageIdFormat,
    /// How it writes the id of a delivery receipt (receipted_message_id TLV or text `id:`).
    pub receipt_message_id: MessageIdFormat,
}

impl Default for SmscConfig {
    fn default() -> Self {
        SmscConfig {
            name: "smsc".into(),
            host: "127.0.0.1".into(),
            port: 2775,
            system_id: String::new(),
            password: String::new(),
            system_type: String::new(),
            bind: BindMode::Transceiver,
            addr_ton: 0,
            addr_npi: 0,
            address_range: String::new(),
            sessions: 1,
            window: 10,
            session_rate: None,
            rate: None,
            source_addr: String::new(),
            source_ton: 0,
            source_npi: 0,
            dest_ton: 1,
            dest_npi: 1,
            service_type: String::new(),
            carriage: Carriage::Udh8,
            data_coding: 0x04,
            max_segments: 10,
            registered_delivery: 0x01,
            submit_message_id: MessageIdFormat::String,
            receipt_message_id: MessageIdFormat::String,
            validity: None,
            enquire_link: Duration::from_secs(30),
            response_timeout: Duration::from_secs(30),
            bind_timeout: Duration::from_secs(10),
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            adaptive_rate: true,
            throttle_pause: Duration::from_secs(1),
            retry_deadline: Duration::from_secs(600),
            shutdown_timeout: Duration::from_secs(10),
            tls: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsClientConfig {
    /// PEM file with the CA certificates to trust. Absent = the system has none here: required.
    pub ca: PathBuf,
    /// Server name to verify (default: host).
    #[serde(default)]
    pub server_name: Option<String>,
}

/// Destinations starting with `prefix` (E.164 with `+`) go to `smsc`, trying them in order.
/// The longest matching prefix wins; a destination no route matches may use every SMSC in
/// config order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub prefix: String,
    pub smsc: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DispatchConfig {
    /// Recipients being submitted at once by this instance: leased and not yet answered by an
    /// SMSC (recording the outcome afterwards takes no slot).
    pub concurrency: usize,
    /// Backoff between attempts of a recipient whose submit failed transiently.
    #[serde(with = "humantime_serde")]
    pub retry_min: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// A confirmed push still without its final receipt this long after submit ends as `timeout`.
    #[serde(with = "humantime_serde")]
    pub receipt_timeout: Duration,
    /// How often the queue is polled when nothing wakes the dispatcher.
    #[serde(with = "humantime_serde")]
    pub poll: Duration,
    /// Send the MMS content type as text instead of the binary 0xBE (WSP 1.4) code, for old handsets.
    pub mms_content_type_text: bool,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            concurrency: 512,
            retry_min: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
            receipt_timeout: Duration::from_secs(48 * 3600),
            poll: Duration::from_millis(500),
            mms_content_type_text: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_min: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// Give up on a result notification after this long.
    #[serde(with = "humantime_serde")]
    pub give_up_after: Duration,
    pub concurrency: usize,
    /// https:// notification URLs: the CA certificates to verify the PIs' servers with (the
    /// name checked is each URL's host). Unset, https:// URLs are refused.
    pub tls: Option<TlsClientConfig>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            timeout: Duration::from_secs(10),
            retry_min: Duration::from_secs(2),
            retry_max: Duration::from_secs(600),
            give_up_after: Duration::from_secs(3 * 86_400),
            concurrency: 16,
            tls: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// /metrics, /healthz, /readyz. Absent = not served.
    pub listen: Option<SocketAddr>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: Some("127.0.0.1:9100".parse().expect("literal address")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// An EnvFilter directive; RUST_LOG overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info,rusmpp=warn".into(),
        }
    }
}

/// The SMSC simulator (`ppgd sim`, and in-process when `enabled` in a `ppgd serve` config).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    pub enabled: bool,
    pub listen: SocketAddr,
    pub system_id: String,
    pub password: String,
    /// Delay before each submit_sm_resp.
    #[serde(with = "humantime_serde")]
    pub latency: Duration,
    /// Outstanding submit_sm per session past which the simulator answers ESME_RTHROTTLED.
    pub window: usize,
    /// submit_sm per second the simulator accepts (smooth); past it ESME_RTHROTTLED. Absent = unlimited.
    pub throttle_rate: Option<f64>,
    /// Fraction (0..1) of submit_sm answered ESME_RTHROTTLED at random.
    pub throttle_ratio: f64,
    /// Drop the connection after this many submit_sm on it.
    pub drop_after: Option<u64>,
    /// Drop the connection at random with this probability per submit_sm.
    pub drop_ratio: f64,
    /// Seed for the random faults (same seed, same faults).
    pub seed: u64,
    /// Send a delivery receipt this long after each submit_sm that asked for one. Absent = never.
    #[serde(with = "humantime_serde")]
    pub receipts: Option<Duration>,
    /// Mix of receipt outcomes, weights for DELIVRD / UNDELIV / EXPIRED.
    pub receipt_mix: [u32; 3],
    /// Receipts as TLVs (receipted_message_id, message_state) as well as the Appendix B text.
    pub receipt_tlvs: bool,
    /// A receipt for a submit_sm made on a session that cannot receive (bind_transmitter) goes
    /// to any receiver session of the simulator instead of nowhere, as SMSCs route receipts to
    /// any receiver bind of the account (tests: a receipt reaching another ppgd instance).
    pub receipts_any_receiver: bool,
    /// The receipt carries the message id in decimal (text `id:` and receipted_message_id)
    /// while submit_sm_resp gave it in hex: the mismatch some SMSCs have.
    pub receipt_id_decimal: bool,
    /// JSON lines file recording every submit_sm. Absent = no record.
    pub record: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            enabled: false,
            listen: "127.0.0.1:2775".parse().expect("literal address"),
            system_id: "wapgw".into(),
            password: "secret".into(),
            latency: Duration::ZERO,
            window: 1000,
            throttle_rate: None,
            throttle_ratio: 0.0,
            drop_after: None,
            drop_ratio: 0.0,
            seed: 1,
            receipts: None,
            receipt_mix: [100, 0, 0],
            receipt_tlvs: true,
            receipts_any_receiver: false,
            receipt_id_decimal: false,
            record: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Load(#[from] Box<figment::Error>),
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
}

impl Config {
    /// Loads a config file, then `PPGD_` environment variables (`PPGD_PAP__LISTEN=...`), then validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::from_figment(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::file_exact(path)),
        )
    }

    /// The same from TOML text (tests, `config check -`).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Self::from_figment(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(text)),
        )
    }

    fn from_figment(f: Figment) -> Result<Config, ConfigError> {
        let cfg: Config = f
            .merge(Env::prefixed("PPGD_").split("__"))
            .extract()
            .map_err(Box::new)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks what serde cannot: ranges, references between tables, impossible combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: String, problem: &str| {
            Err(ConfigError::Invalid {
                key,
                problem: problem.to_string(),
            })
        };
        if !self.pap.path.starts_with('/') {
            return bad("pap.path".into(), "must start with /");
        }
        if self.pap.body_limit < 1024 {
            return bad("pap.body_limit".into(), "must be at least 1024 octets");
        }
        let mut users = std::collections::HashSet::new();
        for (i, pi) in self.pap.pi.iter().enumerate() {
            if pi.username.is_empty() || pi.password.is_empty() {
                return bad(
                    format!("pap.pi[{i}]"),
                    "username and password must not be empty",
                );
            }
            if !users.insert(pi.username.as_str()) {
                return bad(
                    format!("pap.pi[{i}].username"),
                    "is used by two PI accounts",
                );
            }
            if let Some(prefixes) = &pi.allow_prefixes {
                for p in prefixes {
                    if !p.starts_with('+') || !p[1..].bytes().all(|c| c.is_ascii_digit()) {
                        return bad(
                            format!("pap.pi[{i}].allow_prefixes"),
                            "each prefix is + followed by digits, e.g. \"+49\"",
                        );
                    }
                }
            }
            if let Some(rate) = pi.rate
                && (rate.is_nan() || rate <= 0.0)
            {
                return bad(format!("pap.pi[{i}].rate"), "must be greater than 0");
            }
        }
        if self.store.backend == StoreBackend::Postgres && self.store.url.is_none() {
            return bad(
                "store.url".into(),
                "is required when store.backend = \"postgres\"",
            );
        }
        if self.store.backend == StoreBackend::Embedded && self.store.tls.is_some() {
            return bad(
                "store.tls".into(),
                "is for store.backend = \"postgres\" (the embedded store is a local file)",
            );
        }
        if self.store.lease < Duration::from_secs(1) {
            return bad("store.lease".into(), "must be at least 1s");
        }
        if self.store.batch_max == 0 {
            return bad("store.batch_max".into(), "must be at least 1");
        }
        let mut names = std::collections::HashSet::new();
        for (i, s) in self.smsc.iter().enumerate() {
            let key = |k: &str| format!("smsc[{i}].{k}");
            if s.name.is_empty() || !names.insert(s.name.as_str()) {
                return bad(key("name"), "must be non-empty and unique");
            }
            // One side numeric and the other opaque could never meet: say so at start rather
            // than time out every confirmed push.
            if (s.submit_message_id == MessageIdFormat::String)
                != (s.receipt_message_id == MessageIdFormat::String)
            {
                return bad(
                    key("receipt_message_id"),
                    "submit_message_id and receipt_message_id must both be \"string\" or both numeric (\"decimal\" / \"hex\")",
                );
            }
            if s.system_id.is_empty() || s.system_id.len() > 15 {
                return bad(
                    key("system_id"),
                    "must be 1 to 15 characters (SMPP 3.4 §5.2.1)",
                );
            }
            if s.password.len() > 8 {
                return bad(
                    key("password"),
                    "must be at most 8 characters (SMPP 3.4 §5.2.2)",
                );
            }
            if s.sessions == 0 {
                return bad(key("sessions"), "must be at least 1");
            }
            if s.window == 0 {
                return bad(key("window"), "must be at least 1");
            }
            if s.max_segments == 0 || s.max_segments > crate::sms::MAX_SEGMENTS {
                return bad(key("max_segments"), "must be 1 to 255");
            }
            if s.source_addr.len() > 20 {
                return bad(key("source_addr"), "must be at most 20 characters");
            }
            if s.reconnect_min > s.reconnect_max {
                return bad(key("reconnect_min"), "must not exceed reconnect_max");
            }
            if s.throttle_pause.is_zero() && !s.adaptive_rate {
                return bad(
                    key("throttle_pause"),
                    "must be more than 0 without adaptive_rate (nothing would slow a throttled session)",
                );
            }
            for (k, r) in [("rate", s.rate), ("session_rate", s.session_rate)] {
                if let Some(r) = r
                    && (r.is_nan() || r <= 0.0)
                {
                    return bad(key(k), "must be greater than 0");
                }
            }
        }
        for (i, r) in self.route.iter().enumerate() {
            if !r.prefix.starts_with('+') {
                return bad(format!("route[{i}].prefix"), "must start with + (E.164)");
            }
            if r.smsc.is_empty() {
                return bad(format!("route[{i}].smsc"), "must name at least one SMSC");
            }
            for s in &r.smsc {
                if !names.contains(s.as_str()) {
                    return bad(
                        format!("route[{i}].smsc"),
                        &format!("names no [[smsc]] called {s:?}"),
                    );
                }
            }
        }
        if !(0.0..=1.0).contains(&self.sim.throttle_ratio)
            || !(0.0..=1.0).contains(&self.sim.drop_ratio)
        {
            return bad(
                "sim".into(),
                "throttle_ratio and drop_ratio are fractions from 0 to 1",
            );
        }
        if self.dispatch.concurrency == 0 {
            return bad("dispatch.concurrency".into(), "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &[(&str, &str)] = &[
        ("config/ppgd.toml", include_str!("../config/ppgd.toml")),
        ("config/demo.toml", include_str!("../config/demo.toml")),
    ];

    #[test]
    fn every_shipped_config_loads() {
        for (name, text) in SHIPPED {
            let cfg = Config::from_toml(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!cfg.smsc.is_empty(), "{name} has no SMSC");
            assert!(!cfg.pap.pi.is_empty(), "{name} has no PI");
        }
        let demo = Config::from_toml(SHIPPED[1].1).unwrap();
        assert!(demo.sim.enabled);
        assert_eq!(demo.sim.latency, Duration::from_millis(5));
    }

    #[test]
    fn the_full_example_shows_every_default() {
        // ppgd.toml documents the defaults: loading it must give what Default gives, except the
        // example PI, SMSC and the values it sets on purpose.
        let cfg = Config::from_toml(SHIPPED[0].1).unwrap();
        let d = Config::default();
        assert_eq!(cfg.pap.listen, d.pap.listen);
        assert_eq!(cfg.pap.body_limit, d.pap.body_limit);
        assert_eq!(cfg.store.lease, d.store.lease);
        assert_eq!(cfg.store.retention, d.store.retention);
        assert_eq!(cfg.store.queue_limit, d.store.queue_limit);
        assert_eq!(cfg.dispatch.retry_max, d.dispatch.retry_max);
        assert_eq!(cfg.dispatch.receipt_timeout, d.dispatch.receipt_timeout);
        assert_eq!(cfg.notify.give_up_after, d.notify.give_up_after);
        let s = &cfg.smsc[0];
        let sd = SmscConfig::default();
        assert_eq!(s.enquire_link, sd.enquire_link);
        assert_eq!(s.response_timeout, sd.response_timeout);
        assert_eq!(s.retry_deadline, sd.retry_deadline);
        assert_eq!(s.data_coding, sd.data_coding);
        assert_eq!(s.carriage, sd.carriage);
        assert_eq!(s.submit_message_id, sd.submit_message_id);
        assert_eq!(s.receipt_message_id, sd.receipt_message_id);
        assert_eq!(s.adaptive_rate, sd.adaptive_rate);
        assert_eq!(s.throttle_pause, sd.throttle_pause);
    }

    #[test]
    fn an_unknown_key_is_an_error_that_names_it() {
        for (name, text) in SHIPPED {
            for (table, key) in [
                ("[pap]", "listenn"),
                ("[store]", "pathh"),
                ("[[smsc]]", "windoww"),
                ("[sim]", "latencyy"),
            ] {
                let injected = text.replacen(table, &format!("{table}\n{key} = 1"), 1);
                if injected == *text {
                    continue;
                }
                let err = Config::from_toml(&injected).expect_err(name).to_string();
                assert!(err.contains(key), "{name}: {err}");
            }
        }
    }

    #[test]
    fn validation_names_the_key() {
        let base = SHIPPED[0].1;
        let cases = [
            ("window = 10", "window = 0", "smsc[0].window"),
            (
                "receipt_message_id = \"string\"",
                "receipt_message_id = \"decimal\"",
                "smsc[0].receipt_message_id",
            ),
            (
                "system_id = \"wapgw\"",
                "system_id = \"\"",
                "smsc[0].system_id",
            ),
            (
                "max_segments = 10",
                "max_segments = 300",
                "smsc[0].max_segments",
            ),
            (
                "allow_prefixes = [\"+49\"]",
                "allow_prefixes = [\"49\"]",
                "pap.pi[0].allow_prefixes",
            ),
            ("path = \"/wappush\"", "path = \"wappush\"", "pap.path"),
        ];
        for (from, to, key) in cases {
            let text = base.replacen(from, to, 1);
            assert!(text != base, "case {key} did not apply");
            let err = Config::from_toml(&text).expect_err(key).to_string();
            assert!(err.starts_with(key), "{key}: {err}");
        }
        let fixed = base
            .replacen("adaptive_rate = true", "adaptive_rate = false", 1)
            .replacen("throttle_pause = \"1s\"", "throttle_pause = \"0s\"", 1);
        assert!(
            Config::from_toml(&fixed)
                .unwrap_err()
                .to_string()
                .starts_with("smsc[0].throttle_pause")
        );
        let route = format!("{base}\n[[route]]\nprefix = \"+49\"\nsmsc = [\"nope\"]\n");
        assert!(
            Config::from_toml(&route)
                .unwrap_err()
                .to_string()
                .contains("route[0].smsc")
        );
        let pg = base.replacen("backend = \"embedded\"", "backend = \"postgres\"", 1);
        assert!(
            Config::from_toml(&pg)
                .unwrap_err()
                .to_string()
                .contains("store.url")
        );
        let tls_embedded = base.replacen(
            "backend = \"embedded\"",
            "backend = \"embedded\"\ntls = { ca = \"/etc/ppgd/db-ca.pem\" }",
            1,
        );
        assert!(
            Config::from_toml(&tls_embedded)
                .unwrap_err()
                .to_string()
                .contains("store.tls")
        );
    }
}
