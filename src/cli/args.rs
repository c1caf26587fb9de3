//! Command-line grammar. `--help` on every command comes from these doc comments.

use crate::core::export::{Format, Target};
use crate::core::identity::Kind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "capiscio-tui",
    version,
    about = "See, generate and export CapiscIO agent and MCP-server identities",
    long_about = "See, generate and export CapiscIO agent and MCP-server identities.\n\n\
        Reads ~/.capiscio (keys/, mcp-servers/), CAPISCIO_KEY_DIR and the key env vars \
        CAPISCIO_AGENT_PRIVATE_KEY_JWK / CAPISCIO_SERVER_PRIVATE_KEY_PEM exactly as the \
        CapiscIO SDKs do, and never prints a private key unless you export it.",
    after_help = "Exit status: 0 success, 1 failure (or problems found by doctor), 2 usage error."
)]
pub struct Cli {
    /// The CapiscIO home directory [default: $HOME/.capiscio]
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Do not contact the registry
    #[arg(long, global = true)]
    pub offline: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every identity: agents, MCP servers and keys injected through env vars
    List {
        /// Print a JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Show one identity in full
    Show {
        /// Id, did:key, did:web, fingerprint, or a unique prefix of any of them
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Print an identity's private key in an env-ready format
    Export(ExportArgs),
    /// Create a new identity in the layout the SDKs read
    Generate(GenerateArgs),
    /// Check every identity and say how to fix each problem (exit 1 on errors)
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Commands under the name the SDK's first-run hint uses
    Identity {
        #[command(subcommand)]
        command: IdentityCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Same as `export`; the ID may be left out when there is exactly one agent
    Export {
        /// Identity to export [default: the only agent identity]
        id: Option<String>,
        #[command(flatten)]
        opts: ExportOpts,
    },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Id, did:key, did:web, fingerprint, or a unique prefix of any of them
    pub id: String,
    #[command(flatten)]
    pub opts: ExportOpts,
}

#[derive(Debug, Args)]
pub struct ExportOpts {
    /// Output format
    #[arg(long, short, value_enum)]
    pub format: Format,
    /// Which SDK variable the snippet sets [default: the identity's own kind]
    #[arg(long = "as", value_enum, value_name = "KIND")]
    pub target: Option<Target>,
    /// Copy to the clipboard instead of printing
    #[arg(long)]
    pub copy: bool,
    /// Allow printing the private key to an interactive terminal
    #[arg(long)]
    pub reveal: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    Agent,
    #[value(name = "mcp-server")]
    McpServer,
}

impl From<KindArg> for Kind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Agent => Kind::Agent,
            KindArg::McpServer => Kind::McpServer,
        }
    }
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Agent (private.jwk + public.jwk) or MCP server (private_key.pem + public_key.pem)
    #[arg(long, value_enum)]
    pub kind: KindArg,
    /// Directory name / registry id [default: a new UUID]
    #[arg(long)]
    pub id: Option<String>,
    /// Agent name, written to agent-card.json
    #[arg(long)]
    pub name: Option<String>,
    /// Print the new identity as JSON
    #[arg(long)]
    pub json: bool,
}
