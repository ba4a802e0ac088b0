//! The `liquidator` command line.
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "liquidator", version, about = "Clearing-house platform for JD Pay sub-merchants")]
pub struct Cli {
    /// A TOML configuration file (layered over the defaults, under the environment).
    #[arg(long, global = true, env = "LIQUIDATOR_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP and run the workers (the default).
    Serve,
    /// Run the workers only.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Revert every migration instead (destroys all data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Create the database if needed, seed demo data, and serve it.
    Demo(DemoArgs),
    /// Write a new RSA key pair for a client (private key PKCS#8, public key SPKI, PEM).
    Keygen {
        /// Folder to write into.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// File name prefix.
        #[arg(long, default_value = "client")]
        name: String,
        /// Key size in bits (at least 2048).
        #[arg(long, default_value_t = 2048)]
        bits: usize,
    },
    /// Console operators.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Sub-merchants (e.g. migrating existing ones).
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Gateway apps and their keys.
    #[command(subcommand)]
    App(AppCommand),
    /// The ledger's derived data.
    #[command(subcommand)]
    Ledger(LedgerCommand),
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Write the rollups per merchant and business day again from the ledger (bookings wait
    /// meanwhile), then check them against it.
    RebuildRollups,
}

#[derive(Debug, Subcommand)]
pub enum MerchantCommand {
    /// Create a merchant from an application JSON file (the fields of the application form).
    Create {
        #[arg(long)]
        file: PathBuf,
        /// Migrate an already verified merchant straight to approved (recorded in its history).
        #[arg(long)]
        approve: bool,
        /// The ISV app (app_id) that owns the merchant and may act for it.
        #[arg(long)]
        owner_app: Option<String>,
        /// Print the result as one line of JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create an ISV app (`--isv --name`), or set up the app of an approved merchant
    /// (`--merchant SUB_MERCHANT_ID`); optionally register a public key and the sign type.
    Create {
        #[arg(long, conflicts_with = "merchant", requires = "name")]
        isv: bool,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, required_unless_present = "isv")]
        merchant: Option<String>,
        /// PEM public key file (PKCS#8 or PKCS#1, at least 2048 bits).
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// RSA2 (SHA256withRSA, default) or RSA (SHA1withRSA).
        #[arg(long)]
        sign_type: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Folder for the demo's keys and credentials.
    #[arg(long, default_value = "demo-data")]
    pub data_dir: PathBuf,
    /// Print one line of JSON describing the running demo on stdout once it is ready.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator; the password is read from the first line of standard input.
    Create {
        #[arg(long)]
        username: String,
        /// viewer, operator, finance or admin.
        #[arg(long)]
        role: String,
    },
}
