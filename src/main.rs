//! The `ppgd` binary: parses the command line, sets up logging, and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ppgd",
    version,
    about = "WAP Push Proxy Gateway: PAP over HTTP in, WSP push over SMPP out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        /// The config file (TOML; PPGD_ environment variables override it).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run the SMSC simulator.
    Sim(Box<ppgd::sim::cli::SimArgs>),
    /// Send PAP requests to a gateway, as a Push Initiator would.
    Push(Box<ppgd::client::PushArgs>),
    /// Load a PPG with PAP pushes; check against the simulator's record that none was lost.
    Bench(Box<ppgd::bench::BenchArgs>),
    /// Dissect octets from a trace: SMS user data, WSP push, MMS, SI/SL WBXML, submit_sm, or PAP.
    Decode(ppgd::decode::DecodeArgs),
    /// Store tools.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Load and validate a config; print it resolved, secrets masked.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Apply the schema migrations of the configured store (`ppgd serve` also does at start).
    Migrate {
        /// The config file (TOML; PPGD_ environment variables override it).
        #[arg(long, short)]
        config: PathBuf,
    },
}

/// mimalloc instead of glibc's malloc: with the HTTP workers, the SMPP sessions and the store
/// writer allocating on different threads, glibc's arenas (malloc, free, consolidation) took
/// about a sixth of ppgd's CPU in the scenario-1 profile (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => ppgd::cli::serve(&config),
        Command::Sim(args) => ppgd::cli::runtime_single_thread()
            .and_then(|rt| rt.block_on(ppgd::sim::cli::run(*args))),
        Command::Push(args) => {
            ppgd::cli::runtime().and_then(|rt| rt.block_on(ppgd::client::run(*args)))
        }
        Command::Bench(args) => {
            ppgd::cli::runtime_single_thread().and_then(|rt| rt.block_on(ppgd::bench::run(*args)))
        }
        Command::Decode(args) => ppgd::decode::run(args),
        Command::Store {
            command: StoreCommand::Migrate { config },
        } => ppgd::cli::store_migrate(&config),
        Command::Config {
            command: ConfigCommand::Check { file },
        } => ppgd::cli::config_check(&file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ppgd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
