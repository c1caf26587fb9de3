//! Command-line grammar. `--help` on every command comes from these doc comments.

use crate::core::export::{Format, Target};
use crate::core::identity::Kind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// The heading every subcommand's `--help` lists the global options under, once.
pub const GLOBAL: &str = "Global options";

/// The help text of an identity argument, everywhere one is named.
const ID_HELP: &str = "Id, did:key, did:web, fingerprint, or a unique prefix of any of them";

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
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Do not contact the registry
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub offline: bool,
    /// Registry base URL [default: $CAPISCIO_SERVER_URL, else https://registry.capisc.io]
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "URL")]
    pub server_url: Option<String>,
    /// Give up on a registry request after this many seconds [default: 15]
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub registry_timeout: Option<u64>,
    /// Registry requests in flight at once [default: 16]
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: Option<u16>,
    /// Clear copied secrets from the clipboard after this many seconds (0 = never) [default: 30]
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "SECONDS")]
    pub clear_after: Option<u64>,
    /// Interactive UI: ignore the mouse
    #[arg(long)]
    pub no_mouse: bool,
    /// Interactive UI colours (NO_COLOR is honoured too)
    #[arg(long, value_enum)]
    pub theme: Option<crate::tui::theme::ThemeName>,
    /// Which OS keyring to use [default: auto — Secret Service, else kernel keyutils]
    #[arg(long, global = true, help_heading = GLOBAL, value_enum, value_name = "STORE")]
    pub keyring: Option<crate::store::keyring::Choice>,
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
        #[arg(help = ID_HELP)]
        id: String,
        /// Print the identity as JSON
        #[arg(long)]
        json: bool,
    },
    /// Print an identity's private key in an env-ready format
    Export(ExportArgs),
    /// Create a new identity in the layout the SDKs read
    Generate(GenerateArgs),
    /// Badge state of every identity, verified and checked with the registry
    Status {
        /// Only this identity (id, DID, fingerprint or unique prefix)
        id: Option<String>,
        /// Print a JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Register an identity's key with the registry (agents: PATCH identity; servers: PUT)
    Register {
        #[arg(help = ID_HELP)]
        id: String,
        /// Print the outcome as JSON
        #[arg(long)]
        json: bool,
    },
    /// Rotate an identity's key: impact analysis, crash-safe swap, guided walkthrough
    Rotate(RotateArgs),
    /// Store an identity's key in secrets managers through their own CLIs (aws, vault/bao,
    /// gcloud, kubectl, gh, doppler, op), and record where it went
    Push(PushArgs),
    /// Read every recorded push target back and say which key each one holds
    Deployed(DeployedArgs),
    /// Archived (rotated-out) keys of an identity
    Archive {
        #[command(subcommand)]
        command: ArchiveCommand,
    },
    /// Which identity a pasted key is (JWK, PEM, env line, .env / compose / Kubernetes snippet on stdin)
    Identify(crate::cli::identify::IdentifyArgs),
    /// Private keys in the OS keyring: status, import, export back to disk, delete
    Keyring {
        #[command(subcommand)]
        command: KeyringCommand,
    },
    /// Store the registry API key in the OS keyring (prompted, never echoed)
    Login,
    /// Remove the registry API key from the OS keyring
    Logout,
    /// Ask the registry for a badge, or make a self-signed development badge
    Badge {
        #[command(subcommand)]
        command: BadgeCommand,
    },
    /// Run a local development registry on 127.0.0.1
    DevRegistry(DevRegistryArgs),
    /// A sandbox with sample identities and a development registry, to see every feature
    Demo {
        /// Keep the sandbox in this directory instead of a temporary one
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Keep the registry running until Ctrl-C and print how to point commands at it
        #[arg(long)]
        serve: bool,
    },
    /// Check every identity and say how to fix each problem (exit 1 on errors)
    Doctor {
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
        /// First repair what is safe to repair (key file 0600, directory 0700, a missing
        /// public.jwk / public_key.pem written from the private key), then report
        #[arg(long)]
        fix: bool,
    },
    /// Internal: serve clipboard text from a short-lived process until the clear deadline
    #[command(name = "__clipboard-hold", hide = true)]
    ClipboardHold {
        /// Seconds until the clipboard is cleared
        #[arg(long)]
        clear_after: Option<u64>,
    },
    /// Commands under the name the SDK's first-run hint uses
    Identity {
        #[command(subcommand)]
        command: IdentityCommand,
    },
    /// Print a shell completion script (e.g. `source <(capiscio-tui completions bash)`)
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout (e.g. `capiscio-tui man | man -l -`)
    Man,
    /// The config file ($XDG_CONFIG_HOME/capiscio-tui/config.toml): where it is, and
    /// every setting with where its value came from
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the config file's path (whether or not it exists)
    Path,
    /// Every setting's value and where it came from: flag, env, config or default
    Show {
        /// Print the settings as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BadgeCommand {
    /// Request a fresh badge from the registry (agents: IAL-0, stored in badge.jwt)
    Request {
        #[arg(help = ID_HELP)]
        id: String,
        /// Print the badge and its claims as JSON
        #[arg(long)]
        json: bool,
    },
    /// Issue a level-0 development badge signed by the identity's own key
    Issue {
        #[arg(help = ID_HELP)]
        id: String,
        /// Sign with the identity's own key: the only mode, so optional (the registry is
        /// the only issuer of other levels)
        #[arg(long)]
        self_sign: bool,
        /// Lifetime in seconds
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(60..=86400))]
        ttl: u32,
    },
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[arg(help = ID_HELP)]
    pub id: String,
    /// Show what would change and stop
    #[arg(long, conflicts_with_all = ["resume", "rollback"])]
    pub dry_run: bool,
    /// How the old key goes: planned (kept in the agent card as retiring for the grace
    /// period) or emergency (dropped at once, e.g. when it leaked)
    #[arg(long, value_enum, default_value = "planned")]
    pub mode: crate::core::rotation::Mode,
    /// Skip the typed confirmation (needed when not on a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Days the old public key stays in the agent card as retiring (planned mode)
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=365))]
    pub grace_days: u32,
    /// Where to look for deployed copies of the old key [default: the current directory]
    #[arg(long, value_name = "DIR")]
    pub scan: Option<PathBuf>,
    /// Export format the capture step suggests
    #[arg(long, value_enum, default_value = "env")]
    pub capture_format: crate::core::export::Format,
    /// On HTTP 409, create a new agent record for the new key and move the identity to it
    #[arg(long)]
    pub new_agent: bool,
    /// Finish an interrupted rotation, or continue the walkthrough
    #[arg(long, conflicts_with = "rollback")]
    pub resume: bool,
    /// After the swap, push the new key to every recorded push target (with --resume:
    /// when the capture step is still open). Without it, `--yes` never pushes.
    #[arg(long, conflicts_with_all = ["dry_run", "rollback", "end_grace"])]
    pub push: bool,
    /// Restore the newest archived key
    #[arg(long)]
    pub rollback: bool,
    /// End a planned rotation's grace period: drop the retiring old key from agent-card.json
    #[arg(long, conflicts_with_all = ["dry_run", "resume", "rollback"])]
    pub end_grace: bool,
    /// Print the plan or the outcome as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeyringCommand {
    /// Which keyring would be used, and why (or why none)
    Status {
        /// Print the keyring's state as JSON
        #[arg(long)]
        json: bool,
    },
    /// Move a disk identity's private key into the keyring (the public key and a marker stay)
    Import {
        #[arg(help = ID_HELP)]
        id: String,
    },
    /// Write a keyring identity back into the SDK layout (needed before an SDK here can use it)
    Export {
        #[arg(help = ID_HELP)]
        id: String,
        /// Materialise the SDK files (required: to print the key, use `capiscio-tui export`)
        #[arg(long, required = true)]
        to_disk: bool,
    },
    /// Delete an identity's keyring entry (asks for confirmation)
    Delete {
        #[arg(help = ID_HELP)]
        id: String,
        /// Skip the confirmation (needed when not on a terminal)
        #[arg(long)]
        yes: bool,
        /// Allow destroying the only copy of the private key
        #[arg(long)]
        discard_key: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreArg {
    /// The SDK layout under ~/.capiscio
    Disk,
    /// The OS keyring (materialise with `keyring export --to-disk` before an SDK uses it)
    Keyring,
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// List archived keys
    List {
        #[arg(help = ID_HELP)]
        id: String,
        /// Print a JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Delete archived keys (asks for confirmation)
    Purge {
        #[arg(help = ID_HELP)]
        id: String,
        /// Only archives older than this many days
        #[arg(long, value_name = "DAYS", required_unless_present = "all")]
        older_than: Option<u32>,
        /// Every archive of this identity
        #[arg(long, conflicts_with = "older_than")]
        all: bool,
        /// Skip the confirmation (needed when not on a terminal)
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct DevRegistryArgs {
    /// Port on 127.0.0.1 (0 = any free port; the URL is printed)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Keep state in this JSON file (created 0600)
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Require this X-Capiscio-Registry-Key on /v1/sdk/* and issuance routes
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// Reply shape of business routes
    #[arg(long, value_enum, default_value = "envelope")]
    pub variant: crate::registry::dev::Variant,
    /// Delay every reply by this many milliseconds
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Lifetime of issued badges in seconds
    #[arg(long, default_value_t = 300)]
    pub badge_ttl: i64,
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
    #[arg(help = ID_HELP)]
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
    /// Register the new key with the registry (needs CAPISCIO_API_KEY)
    #[arg(long)]
    pub register: bool,
    /// Where the private key goes
    #[arg(long, value_enum, default_value = "disk")]
    pub store: StoreArg,
}

/// The help text of a push target, everywhere one is named.
const TARGET_HELP: &str = "aws-sm:NAME[?region=R&profile=P], aws-ssm:NAME[?…], vault:MOUNT/PATH#FIELD, gcloud:SECRET, k8s:[CONTEXT:]NAMESPACE/SECRET#KEY, gh:OWNER/REPO[@ENV]#NAME, doppler:PROJECT/CONFIG#NAME, op:VAULT/ITEM#FIELD";

#[derive(Debug, Args)]
pub struct PushArgs {
    #[arg(help = ID_HELP)]
    pub id: String,
    /// Where to store the key (repeatable) [default: every recorded target]
    #[arg(long, value_name = "TARGET", long_help = TARGET_HELP)]
    pub to: Vec<String>,
    /// Print the exact commands (the key elided) and run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite a target that holds another value without asking (needed when not on a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Remove this target from the identity's record (the secret itself stays where it is)
    #[arg(long, value_name = "TARGET", conflicts_with_all = ["to", "dry_run"])]
    pub forget: Option<String>,
    /// Give up on each CLI call after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Print the results as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeployedArgs {
    /// Only this identity [default: every identity with recorded targets]
    pub id: Option<String>,
    /// Give up on each CLI call after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Print a JSON array instead of a table
    #[arg(long)]
    pub json: bool,
}
