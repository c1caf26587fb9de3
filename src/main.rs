#![forbid(unsafe_code)]

use capiscio_tui::cli;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    capiscio_tui::hardening::no_core_dumps();
    let args = match cli::args::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // clap quotes the offending argument; a pasted key must not come back out.
            let argv: Vec<String> = std::env::args().skip(1).collect();
            use std::io::IsTerminal;
            let styled = e.render();
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let rendered = if colour {
                styled.ansi().to_string()
            } else {
                styled.to_string()
            };
            let text = cli::redact_args(&rendered, &argv);
            if e.use_stderr() {
                eprint!("{text}");
            } else {
                print!("{text}");
            }
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("capiscio-tui: error: {}", cli::describe(&e));
            ExitCode::FAILURE
        }
    }
}
