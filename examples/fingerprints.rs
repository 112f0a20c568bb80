//! Prints the trace fingerprint and a few summary numbers of every preset and of
//! the randomized test's scenarios (seeds 0..N unsafe, 1000..1000+N safe), one
//! line each, so that two builds can be compared run for run:
//!
//! ```sh
//! cargo run --release --example fingerprints -- 500 > new.txt
//! diff old.txt new.txt
//! ```
//!
//! A refactor that changes no behaviour leaves every line equal.

#[path = "../tests/common/random.rs"]
mod random;

use kafka_sim::report::summary;
use kafka_sim::{presets, Scenario, Simulation};

fn line(name: &str, scenario: &Scenario) -> String {
    let mut sim = Simulation::new(scenario);
    sim.run_until(sim.end_us());
    let s = summary(&sim);
    format!(
        "{name} {} acked={} lost={} dup={} elections={} consumed={} violations={}",
        s["fingerprint"].as_str().unwrap_or("?"),
        s["acked"],
        s["acked_lost"],
        s["duplicates"],
        s["leader_elections"],
        s["consumed"],
        s["invariant_violations"].as_array().map_or(0, Vec::len)
    )
}

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100);
    for p in presets::PRESETS {
        match Scenario::from_json(p.json) {
            Ok(s) => println!("{}", line(&format!("preset:{}", p.id), &s)),
            Err(e) => println!("preset:{} invalid: {e}", p.id),
        }
    }
    for (base, safe) in [(0, false), (1_000, true)] {
        for seed in base..base + n {
            let text = random::random_scenario(seed, safe).to_string();
            match Scenario::from_json(&text) {
                Ok(s) => println!("{}", line(&format!("seed:{seed}"), &s)),
                Err(e) => println!("seed:{seed} invalid: {e}"),
            }
        }
    }
}
