//! The native command line: run a scenario, list presets, benchmark the engine.
//! Bad input ends with one line on stderr and a non-zero exit, never a panic.

use crate::assignors::AssignError;
use crate::i18n::{template_error, Template};
use crate::report::{series_csv, summary};
use crate::scenario::{Scenario, ScenarioError};
use crate::sim::SEC;
use crate::{presets, Simulation};
use clap::{Parser, Subcommand};
use serde::Serialize;
use std::io::Read;
use std::time::Instant;

/// The longest bench, in simulated seconds: a scenario's limit of one day.
const MAX_BENCH_SECONDS: u64 = 86_400;

/// Why a command failed: printed as one line on stderr, with exit code 2.
#[derive(Debug)]
pub enum CliError {
    Stdin(std::io::Error),
    Read {
        path: String,
        error: std::io::Error,
    },
    Write {
        path: String,
        error: std::io::Error,
    },
    UnknownPreset(String),
    Scenario(ScenarioError),
    Assign(AssignError),
    /// `bench --seconds` outside 1..=`MAX_BENCH_SECONDS`.
    Seconds(u64),
}

impl Template for CliError {
    fn template(&self) -> (&'static str, Vec<String>) {
        match self {
            CliError::Stdin(e) => ("cannot read stdin: {0}", vec![e.to_string()]),
            CliError::Read { path, error } => ("cannot read {0}: {1}", vec![path.clone(), error.to_string()]),
            CliError::Write { path, error } => ("cannot write {0}: {1}", vec![path.clone(), error.to_string()]),
            CliError::UnknownPreset(name) => ("unknown preset {0} (see `kafka-sim presets`)", vec![format!("{name:?}")]),
            CliError::Scenario(e) => e.template(),
            CliError::Assign(e) => ("{0}", vec![e.to_string()]),
            CliError::Seconds(s) => (
                "--seconds must be 1..={0} (one day), got {1}",
                vec![MAX_BENCH_SECONDS.to_string(), s.to_string()],
            ),
        }
    }
}
template_error!(CliError);

impl From<ScenarioError> for CliError {
    fn from(e: ScenarioError) -> CliError {
        CliError::Scenario(e)
    }
}

/// `kafka-sim bench`'s one line of JSON.
#[derive(Serialize)]
struct BenchReport {
    simulated_s: u64,
    wall_s: f64,
    speedup: f64,
    events: u64,
    events_per_sec: u64,
    records: u64,
    consumed: u64,
    rebalances: usize,
}

/// Rounds to `digits` decimals, as the report has always printed them.
fn round(v: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (v * scale).round() / scale
}

#[derive(Parser)]
#[command(
    name = "kafka-sim",
    version,
    about = "A deterministic Kafka cluster simulator: run scenarios, break brokers, measure what it costs."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario file (or `-` for stdin) and print a JSON summary.
    Run {
        /// Scenario JSON file, or `-` for stdin; `preset:NAME` runs a built-in scenario.
        file: String,
        /// Also print the notable events (faults, elections, ISR changes) to stderr.
        #[arg(long)]
        events: bool,
        /// Write the metric time series (one row per simulated second) to this CSV file.
        #[arg(long, value_name = "FILE.csv")]
        series: Option<String>,
        /// Also print the final cluster snapshot (brokers, partitions, replicas) as JSON to stderr.
        #[arg(long)]
        snapshot: bool,
    },
    /// Compute a consumer group assignment: reads the group as JSON on stdin, prints the assignment.
    Assign {
        /// range, roundrobin, sticky or cooperative-sticky
        #[arg(long)]
        strategy: String,
    },
    /// List the built-in scenarios.
    Presets,
    /// Run the busy preset and print simulated seconds per wall second and events per second.
    Bench {
        /// Simulated seconds to run.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Multiply every producer's record rate.
        #[arg(long, default_value_t = 1)]
        rate_factor: u64,
        /// Run the consumer-group benchmark instead: 100 members on 1,000 partitions,
        /// a member joins at 20 s and one crashes at 35 s.
        #[arg(long)]
        group: bool,
        /// Run this built-in scenario instead of the busy one (e.g. fraud-broker).
        #[arg(long)]
        preset: Option<String>,
    },
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version itself and asks for exit 0 there.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match run(cli.command) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("kafka-sim: {e}");
            2
        }
    }
}

fn preset(name: &str) -> Result<&'static str, CliError> {
    presets::find(name).map(|p| p.json).ok_or_else(|| CliError::UnknownPreset(name.to_string()))
}

fn load(file: &str) -> Result<Scenario, CliError> {
    let text = if file == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(CliError::Stdin)?;
        s
    } else if let Some(name) = file.strip_prefix("preset:") {
        preset(name)?.to_string()
    } else {
        std::fs::read_to_string(file).map_err(|error| CliError::Read { path: file.to_string(), error })?
    };
    Ok(Scenario::from_json(&text)?)
}

fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Run {
            file,
            events,
            series,
            snapshot,
        } => {
            let scenario = load(&file)?;
            let mut sim = Simulation::new(&scenario);
            sim.run_until(sim.end_us());
            if events {
                for e in &sim.event_log().entries {
                    eprintln!("{:>10.3} s  {}", e.at_us as f64 / 1e6, e.what.describe());
                }
            }
            if snapshot {
                eprintln!("{}", serde_json::to_string_pretty(&sim.snapshot()).unwrap_or_default());
            }
            if let Some(path) = series {
                std::fs::write(&path, series_csv(&sim)).map_err(|error| CliError::Write { path: path.clone(), error })?;
            }
            println!("{}", summary(&sim));
            Ok(())
        }
        Command::Assign { strategy } => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).map_err(CliError::Stdin)?;
            let out = crate::assignors::assign_json(&strategy, &input).map_err(CliError::Assign)?;
            println!("{out}");
            Ok(())
        }
        Command::Presets => {
            for p in presets::PRESETS {
                println!("{:10} {}", p.id, p.title);
            }
            Ok(())
        }
        Command::Bench {
            seconds,
            rate_factor,
            group,
            preset,
        } => {
            if seconds == 0 || seconds > MAX_BENCH_SECONDS {
                return Err(CliError::Seconds(seconds));
            }
            let json = match (&preset, group) {
                (Some(name), _) => self::preset(name)?,
                (None, true) => include_str!("../scenarios/bench-group.json"),
                (None, false) => self::preset("busy")?,
            };
            let mut scenario = Scenario::from_json(json)?;
            for p in &mut scenario.producers {
                p.records_per_sec = p.records_per_sec.saturating_mul(rate_factor);
            }
            scenario.duration_ms = seconds * 1_000;
            // The rate factor may push a producer past what a scenario allows.
            scenario.validate()?;
            let mut sim = Simulation::new(&scenario);
            let start = Instant::now();
            sim.run_until(seconds * SEC);
            let wall = start.elapsed().as_secs_f64();
            let events = sim.events_processed();
            let report = BenchReport {
                simulated_s: seconds,
                wall_s: round(wall, 3),
                speedup: round(seconds as f64 / wall, 1),
                events,
                events_per_sec: (events as f64 / wall).round() as u64,
                records: sim.metrics().total_produced,
                consumed: sim.groups().iter().map(|g| g.consumed).sum::<u64>(),
                rebalances: sim.groups().iter().map(|g| g.rebalances()).sum::<usize>(),
            };
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench(seconds: u64, rate_factor: u64) -> Result<(), CliError> {
        run(Command::Bench {
            seconds,
            rate_factor,
            group: false,
            preset: None,
        })
    }

    #[test]
    fn bad_commands_are_typed_errors() {
        assert!(matches!(bench(u64::MAX, 1), Err(CliError::Seconds(u64::MAX))));
        assert!(matches!(bench(0, 1), Err(CliError::Seconds(0))));
        assert!(matches!(
            bench(1, 1_000),
            Err(CliError::Scenario(ScenarioError::ProducerRate {
                records_per_sec: 100_000_000,
                ..
            }))
        ));
        let e = load("preset:nope").unwrap_err();
        assert!(matches!(&e, CliError::UnknownPreset(n) if n == "nope"));
        assert_eq!(e.to_string(), "unknown preset \"nope\" (see `kafka-sim presets`)");
        assert!(matches!(load("/nonexistent/x.json"), Err(CliError::Read { path, .. }) if path == "/nonexistent/x.json"));
    }
}
