//! The native command line: run a scenario, list presets, benchmark the engine.
//! Bad input ends with one line on stderr and a non-zero exit, never a panic.

use crate::report::{series_csv, summary};
use crate::scenario::Scenario;
use crate::sim::SEC;
use crate::{presets, Simulation};
use clap::{Parser, Subcommand};
use std::io::Read;
use std::time::Instant;

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
        Err(msg) => {
            eprintln!("kafka-sim: {msg}");
            2
        }
    }
}

fn load(file: &str) -> Result<Scenario, String> {
    let text = if file == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| format!("cannot read stdin: {e}"))?;
        s
    } else if let Some(name) = file.strip_prefix("preset:") {
        presets::find(name)
            .ok_or_else(|| format!("unknown preset {name:?} (see `kafka-sim presets`)"))?
            .json
            .to_string()
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?
    };
    Scenario::from_json(&text).map_err(|e| e.to_string())
}

fn run(command: Command) -> Result<(), String> {
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
                std::fs::write(&path, series_csv(&sim)).map_err(|e| format!("cannot write {path}: {e}"))?;
            }
            println!("{}", summary(&sim));
            Ok(())
        }
        Command::Assign { strategy } => {
            let mut input = String::new();
            std::io::stdin().read_to_string(&mut input).map_err(|e| format!("cannot read stdin: {e}"))?;
            let out = crate::assignors::assign_json(&strategy, &input).map_err(|e| e.to_string())?;
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
            let json = match (&preset, group) {
                (Some(name), _) => {
                    presets::find(name)
                        .ok_or_else(|| format!("unknown preset {name:?} (see `kafka-sim presets`)"))?
                        .json
                }
                (None, true) => include_str!("../scenarios/bench-group.json"),
                (None, false) => presets::find("busy").map(|p| p.json).unwrap_or("{}"),
            };
            let mut scenario = Scenario::from_json(json).map_err(|e| e.to_string())?;
            for p in &mut scenario.producers {
                p.records_per_sec = p.records_per_sec.saturating_mul(rate_factor);
            }
            scenario.duration_ms = seconds * 1_000;
            let mut sim = Simulation::new(&scenario);
            let start = Instant::now();
            sim.run_until(seconds * SEC);
            let wall = start.elapsed().as_secs_f64();
            let rebalances = sim.groups().iter().map(|g| g.rebalances()).sum::<usize>();
            println!(
                "{{\"simulated_s\": {seconds}, \"wall_s\": {wall:.3}, \"speedup\": {:.1}, \"events\": {}, \"events_per_sec\": {:.0}, \"records\": {}, \"consumed\": {}, \"rebalances\": {rebalances}}}",
                seconds as f64 / wall,
                sim.events_processed(),
                sim.events_processed() as f64 / wall,
                sim.metrics().total_produced,
                sim.groups().iter().map(|g| g.consumed).sum::<u64>(),
            );
            Ok(())
        }
    }
}
