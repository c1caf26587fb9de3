//! `identify`: reads a pasted key from stdin (bounded), prints which identity it is.
//! Nothing read is ever written back out: only shapes, DIDs and fingerprints.

use super::{print, print_json};
use crate::app::Context;
use crate::app::identify as id;
use crate::core::pasted::{MAX_INPUT, SHAPES};
use crate::display::identify::{render, render_unreadable};
use anyhow::{Context as _, Result, bail};
use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use zeroize::Zeroizing;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Reads at most 1 MiB from standard input; on a terminal, paste and press Ctrl-D. Prints whose key it is (current, archived or unknown) and whether the SDK would accept it, never the key itself.\n\nExit status: 0 a key was read (whatever it matched), 1 no readable key in the input (or more than 1 MiB), 2 usage error.\n\nExample: capiscio-tui export billing-agent --format k8s | capiscio-tui identify"
)]
pub struct IdentifyArgs {
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

/// Standard input up to [`MAX_INPUT`] bytes; more is an error, and the rest is not read.
fn read_stdin() -> Result<Zeroizing<Vec<u8>>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!(
            "Paste the key, env line or snippet to identify, then press Ctrl-D on an empty line (Ctrl-C to cancel)."
        );
    }
    // Sized once, so no reallocation leaves a copy of the key in freed memory.
    let mut buf = Zeroizing::new(Vec::with_capacity(MAX_INPUT + 1));
    stdin
        .lock()
        .take(MAX_INPUT as u64 + 1)
        .read_to_end(&mut buf)
        .context("cannot read standard input")?;
    if buf.len() > MAX_INPUT {
        bail!(
            "the input is larger than 1 MiB: identify reads at most 1 MiB from standard input; pipe in one key, env line, .env file or manifest"
        );
    }
    Ok(buf)
}

pub fn run(ctx: &Context, args: IdentifyArgs) -> Result<ExitCode> {
    let input = read_stdin()?;
    let report = id::identify(ctx, &input);
    drop(input);
    if args.json {
        print_json(&report)?;
    } else if report.read_a_key() {
        print(&render(&report))?;
    } else if !report.unreadable.is_empty() {
        eprint!(
            "{}",
            crate::core::text::printable(&render_unreadable(&report))
        );
    }
    if report.read_a_key() {
        return Ok(ExitCode::SUCCESS);
    }
    let i = &report.input;
    let what = if i.bytes == 0 {
        "the input is empty".to_string()
    } else {
        format!(
            "no readable key in the input ({} bytes on {} line(s){})",
            i.bytes,
            i.lines,
            if i.binary { ", not UTF-8 text" } else { "" }
        )
    };
    bail!("{what}; looked for {SHAPES}")
}
