//! One module per command family; `run` dispatches the parsed command line.

use std::io::Write;

use anyhow::Context;

use crate::cli::{
    BenchCommand, Cli, Command, ConfigCommand, ExportCommand, ImportCommand, LegsCommand,
    RulesCommand, SandboxCommand, StoresCommand, TrackingNumbersCommand,
};
use crate::settings::{Overrides, Settings};

mod access;
mod alerts;
mod bench;
mod decode;
mod evidence;
mod init;
mod notify;
mod reports;
mod rules;
mod sandbox;
mod serve;
mod stores;
mod sync;
mod track;
mod upload;
pub(crate) mod workers;

pub(crate) async fn run(cli: Cli, out: &mut impl Write) -> anyhow::Result<()> {
    // Printing the example needs no configuration: it must work even when the file is broken.
    if let Command::Config(ConfigCommand::Example) = cli.command {
        out.write_all(crate::settings::EXAMPLE.as_bytes())?;
        return Ok(());
    }
    // Benchmarks of the sandbox alone need no configuration or database.
    if let Command::Bench(BenchCommand::Sandbox(args)) = &cli.command {
        return bench::sandbox(args, out).await;
    }
    match &cli.command {
        Command::Bench(BenchCommand::Sync(args)) => return bench::sync(args, out).await,
        Command::Bench(BenchCommand::Ingest(args)) => return bench::ingest(args, out).await,
        Command::Bench(BenchCommand::Polling(args)) => return bench::polling(args, out).await,
        Command::Bench(BenchCommand::Detection(args)) => return bench::detection(args, out),
        Command::Bench(BenchCommand::Rules(args)) => return bench::rules(args, out),
        Command::Bench(BenchCommand::Api(args)) => return bench::api(args, out).await,
        Command::Bench(BenchCommand::Notify(args)) => return bench::notify(args, out).await,
        Command::Bench(BenchCommand::Login(args)) => return bench::login(args, out).await,
        Command::Bench(BenchCommand::Estimate(args)) => return bench::estimate(args, out),
        Command::Bench(BenchCommand::Export(args)) => return bench::export(args, out).await,
        Command::Bench(BenchCommand::Evidence(args)) => return bench::evidence(args, out).await,
        Command::Bench(BenchCommand::Chaos(args)) => return bench::chaos(args, out).await,
        _ => {}
    }
    // The rules file helpers need no database.
    match &cli.command {
        Command::Rules(RulesCommand::Example) => {
            out.write_all(rules::EXAMPLE.as_bytes())?;
            return Ok(());
        }
        Command::Rules(RulesCommand::Check(args)) => return rules::check(args, cli.json, out),
        _ => {}
    }
    // Decoding a body needs nothing but the body.
    if let Command::Decode(args) = &cli.command {
        return decode::decode(args, out);
    }
    // The sandbox alone needs no configuration or database either.
    if let Command::Sandbox(args) = &cli.command {
        return match &args.command {
            Some(SandboxCommand::Truth(truth)) => sandbox::truth(truth, cli.json, out),
            None => sandbox::serve(&args.world, cli.json, out).await,
        };
    }
    let overrides = Overrides {
        database_url: cli.database_url.clone(),
        follow_clock: cli.follow_clock.clone(),
    };
    let settings = Settings::load(cli.config.as_deref(), std::env::vars(), &overrides)?;
    init_logging(&settings.log.filter)?;
    match cli.command {
        Command::Init => init::init(&settings, cli.json, out).await,
        Command::Migrate => init::migrate(&settings, cli.json, out).await,
        Command::Stores(StoresCommand::Add(args)) => {
            stores::add(&settings, args, cli.json, out).await
        }
        Command::Stores(StoresCommand::List(args)) => {
            stores::list(&settings, &args, cli.json, out).await
        }
        Command::Stores(StoresCommand::SetKey(args)) => {
            stores::set_key(&settings, &args, cli.json, out).await
        }
        Command::Stores(StoresCommand::Pause(args)) => {
            stores::set_paused(&settings, &args.name, true, cli.json, out).await
        }
        Command::Stores(StoresCommand::Resume(args)) => {
            stores::set_paused(&settings, &args.name, false, cli.json, out).await
        }
        Command::Stores(StoresCommand::Rename(args)) => {
            stores::rename(&settings, &args, cli.json, out).await
        }
        Command::Stores(StoresCommand::Remove(args)) => {
            stores::remove(&settings, &args, cli.json, out).await
        }
        Command::Audit(args) => access::audit(&settings, &args, cli.json, out).await,
        Command::Demo(args) => sandbox::demo(&settings, &args, cli.json, out).await,
        Command::Sync(args) => sync::sync(&settings, &args, cli.json, out).await,
        Command::Track(args) => track::track(&settings, &args, cli.json, out).await,
        Command::Status(args) => track::status(&settings, &args, cli.json, out).await,
        Command::Alerts(args) => alerts::alerts(&settings, &args, cli.json, out).await,
        Command::Serve(args) => serve::serve(&settings, &args, cli.json, out).await,
        Command::Tokens(command) => access::tokens(&settings, &command, cli.json, out).await,
        Command::Users(command) => access::users(&settings, &command, cli.json, out).await,
        Command::LoginLink(args) => access::login_link(&settings, &args, cli.json, out).await,
        Command::Penalties(args) => alerts::penalties(&settings, &args, cli.json, out).await,
        Command::Channels(command) => notify::channels(&settings, *command, cli.json, out).await,
        Command::Notify(command) => notify::notify(&settings, command, cli.json, out).await,
        Command::Legs(LegsCommand::SetCarrier(args)) => {
            track::set_carrier(&settings, &args, cli.json, out).await
        }
        Command::Rules(RulesCommand::Explain(args)) => {
            rules::explain(&settings, &args, cli.json, out).await
        }
        Command::TrackingNumbers(TrackingNumbersCommand::Upload(args)) => {
            upload::upload(&settings, &args, cli.json, out).await
        }
        Command::Export(ExportCommand::Postings(args)) => {
            reports::export(&settings, &args, cli.json, out).await
        }
        Command::Import(ImportCommand::Postings(args)) => {
            reports::import(&settings, &args, cli.json, out).await
        }
        Command::Evidence(command) => evidence::evidence(&settings, &command, cli.json, out).await,
        Command::Backup(args) => reports::backup(&settings, &args, cli.json, out).await,
        Command::Restore(args) => reports::restore(&settings, &args, cli.json, out).await,
        Command::Config(ConfigCommand::Example)
        | Command::Sandbox(_)
        | Command::Bench(_)
        | Command::Rules(RulesCommand::Example | RulesCommand::Check(_))
        | Command::Decode(_) => Ok(()),
    }
}

/// Logs go to stderr, so stdout stays clean for tables and JSON.
fn init_logging(filter: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(from_env) if !from_env.is_empty() => from_env,
        _ => filter.to_owned(),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .map_err(|e| crate::errors::InputError::new(format!("log filter {filter:?}: {e}")))
        .context("log.filter")?;
    // A second initialization (in tests) keeps the first subscriber, which is fine.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    Ok(())
}
