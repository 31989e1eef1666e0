//! `ozontrack`: the command-line entry point. It parses flags, loads configuration, wires the
//! concrete database and runs one command; errors end as one line on stderr and an exit code
//! (1 for failures, 2 for bad input).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

mod app;
mod cli;
mod commands;
mod errors;
mod output;
mod settings;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(errors::EXIT_FAILURE);
        }
    };
    let mut stdout = std::io::stdout().lock();
    match runtime.block_on(commands::run(cli, &mut stdout)) {
        Ok(()) => {
            // A closed pipe (`ozontrack stores list | head -1`) is not worth an error.
            let _ = stdout.flush();
            ExitCode::SUCCESS
        }
        // A reader that went away (`ozontrack sandbox truth --json | head`) is not an error.
        Err(e) if errors::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = stdout.flush();
            eprintln!("error: {}", errors::one_line(&e));
            errors::exit_code(&e)
        }
    }
}
