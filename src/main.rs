#![forbid(unsafe_code)]

use capiscio_tui::cli;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    capiscio_tui::hardening::no_core_dumps();
    let args = cli::args::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("capiscio-tui: error: {}", cli::describe(&e));
            ExitCode::FAILURE
        }
    }
}
