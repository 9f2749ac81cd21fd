//! `ppgd sim`: the simulator as a command (the lead's main.rs adds `Sim(SimArgs)`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::SimConfig;
use crate::sim::Simulator;

#[derive(Debug, Clone, clap::Args)]
pub struct SimArgs {
    /// Read the `[sim]` table of this config file first; flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    #[arg(long)]
    pub system_id: Option<String>,
    #[arg(long)]
    pub password: Option<String>,
    /// JSON lines file recording every submit_sm.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Delay before each submit_sm_resp ("20ms").
    #[arg(long, value_parser = humantime::parse_duration)]
    pub latency: Option<Duration>,
    /// submit_sm per second accepted; past it ESME_RTHROTTLED.
    #[arg(long)]
    pub throttle_rate: Option<f64>,
    /// Drop the connection after N submit_sm on it.
    #[arg(long)]
    pub drop_after: Option<u64>,
    /// Send delivery receipts this long after each submit_sm that asks for one ("500ms").
    #[arg(long, value_parser = humantime::parse_duration)]
    pub receipts: Option<Duration>,
    /// Outstanding submit_sm per session past which ESME_RTHROTTLED.
    #[arg(long)]
    pub window: Option<usize>,
    /// Fraction of submit_sm answered ESME_RTHROTTLED at random.
    #[arg(long)]
    pub throttle_ratio: Option<f64>,
    /// Probability per submit_sm of dropping the connection.
    #[arg(long)]
    pub drop_ratio: Option<f64>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Receipt outcome weights DELIVRD,UNDELIV,EXPIRED ("90,8,2").
    #[arg(long, value_parser = parse_mix)]
    pub receipt_mix: Option<[u32; 3]>,
    /// Write the receipt's id in decimal while submit_sm_resp gives it in hex, as some SMSCs do
    /// (configure ppgd with submit_message_id = "hex", receipt_message_id = "decimal").
    #[arg(long)]
    pub receipt_id_decimal: bool,
    /// On SIGUSR1, behave as an SMSC that is down for this long ("30s"): drop every connection
    /// and refuse new ones (the fault scenario "SMSC down mid-run").
    #[arg(long, value_parser = humantime::parse_duration)]
    pub pause_on_signal: Option<Duration>,
    /// Summary line interval.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub report_every: Duration,
}

fn parse_mix(s: &str) -> Result<[u32; 3], String> {
    let v: Vec<u32> = s
        .split(',')
        .map(|x| x.trim().parse::<u32>().map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    match v.as_slice() {
        [a, b, c] => Ok([*a, *b, *c]),
        _ => Err("three comma-separated weights: DELIVRD,UNDELIV,EXPIRED".into()),
    }
}

impl SimArgs {
    pub fn to_config(&self) -> anyhow::Result<SimConfig> {
        let mut c = match &self.config {
            Some(p) => crate::config::Config::load(p)?.sim,
            None => SimConfig::default(),
        };
        if let Some(v) = self.listen {
            c.listen = v;
        }
        if let Some(v) = &self.system_id {
            c.system_id = v.clone();
        }
        if let Some(v) = &self.password {
            c.password = v.clone();
        }
        if let Some(v) = &self.record {
            c.record = Some(v.clone());
        }
        if let Some(v) = self.latency {
            c.latency = v;
        }
        if let Some(v) = self.throttle_rate {
            c.throttle_rate = Some(v);
        }
        if let Some(v) = self.drop_after {
            c.drop_after = Some(v);
        }
        if let Some(v) = self.receipts {
            c.receipts = Some(v);
        }
        if let Some(v) = self.window {
            c.window = v;
        }
        if let Some(v) = self.throttle_ratio {
            c.throttle_ratio = v;
        }
        if let Some(v) = self.drop_ratio {
            c.drop_ratio = v;
        }
        if let Some(v) = self.seed {
            c.seed = v;
        }
        if let Some(v) = self.receipt_mix {
            c.receipt_mix = v;
        }
        if self.receipt_id_decimal {
            c.receipt_id_decimal = true;
        }
        Ok(c)
    }
}

/// Runs the simulator until Ctrl-C, printing a one-line summary every `report_every` and at exit.
pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let cfg = args.to_config()?;
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let sim = Simulator::start_counting(cfg, listener);
    println!("ppgd sim listening on {}", sim.local_addr());
    let mut tick = tokio::time::interval(args.report_every.max(Duration::from_millis(100)));
    tick.tick().await;
    let mut usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())?;
    let stop = crate::cli::shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = tick.tick() => println!("{}", sim.summary()),
            Some(()) = usr1.recv() => match args.pause_on_signal {
                Some(d) => {
                    println!("SIGUSR1: down for {d:?}");
                    sim.pause(d);
                }
                None => println!("SIGUSR1 ignored (no --pause-on-signal)"),
            },
            _ = &mut stop => break,
        }
    }
    sim.shutdown();
    println!("{}", sim.summary());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    #[test]
    fn issue_flags_parse_into_the_sim_config() {
        let cli = Cli::try_parse_from([
            "ppgd",
            "--listen",
            "127.0.0.1:2775",
            "--system-id",
            "ID",
            "--password",
            "PW",
            "--record",
            "r.jsonl",
            "--latency",
            "20ms",
            "--throttle-rate",
            "500",
            "--drop-after",
            "100",
            "--receipts",
            "500ms",
            "--receipt-mix",
            "90,8,2",
            "--window",
            "50",
        ])
        .expect("parses");
        let c = cli.sim.to_config().expect("config");
        assert_eq!((c.system_id.as_str(), c.password.as_str()), ("ID", "PW"));
        assert_eq!(c.latency, Duration::from_millis(20));
        assert_eq!(c.throttle_rate, Some(500.0));
        assert_eq!(c.drop_after, Some(100));
        assert_eq!(c.receipts, Some(Duration::from_millis(500)));
        assert_eq!(c.receipt_mix, [90, 8, 2]);
        assert_eq!(c.window, 50);
        assert_eq!(c.record, Some(PathBuf::from("r.jsonl")));
        assert!(Cli::try_parse_from(["ppgd", "--receipt-mix", "1,2"]).is_err());
    }
}
