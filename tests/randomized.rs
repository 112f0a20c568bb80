//! Randomized fault injection (TigerBeetle's VOPR style): one seed derives the
//! cluster, the workload and the faults. Every invariant must hold in every
//! run, and with acks=all and clean elections no acknowledged record is lost.
//! A failure prints the seed and the scenario to reproduce it with
//! `kafka-sim run`. `KAFKA_SIM_SEEDS=500 cargo test --release --test randomized` runs more.

use kafka_sim::report::summary;
use kafka_sim::{Scenario, Simulation};
use serde_json::{json, Value};

#[path = "common/random.rs"]
mod random;
use random::random_scenario;

fn seeds() -> u64 {
    std::env::var("KAFKA_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(40)
}

fn replay_file(seed: u64, text: &str) -> String {
    let path = format!("{}/randomized-seed-{seed}.json", env!("CARGO_TARGET_TMPDIR"));
    let _ = std::fs::write(&path, text);
    path
}

/// Runs one seed; a violated invariant (or, when `safe`, an acks=all loss) is
/// an `Err` with the replay file, so a long run reports every failing seed.
fn run(seed: u64, safe: bool) -> Result<Value, String> {
    let text = random_scenario(seed, safe).to_string();
    let scenario = Scenario::from_json(&text).unwrap_or_else(|e| panic!("seed {seed}: generated an invalid scenario: {e}\n{text}"));
    let mut sim = Simulation::new(&scenario);
    sim.run_until(sim.end_us());
    let s = summary(&sim);
    if s["invariant_violations"] != json!([]) || (safe && s["acked_lost"] != 0) {
        let path = replay_file(seed, &text);
        let message = format!("seed {seed} (safe={safe}): invariant violated or acks=all loss; replay with `kafka-sim run {path} --events`\nsummary: {s}");
        eprintln!("{message}");
        return Err(message);
    }
    Ok(s)
}

fn fail_on(failures: &[String]) {
    assert!(failures.is_empty(), "{} seeds failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn invariants_hold_under_random_faults() {
    let (mut elections, mut effects, mut failures) = (0, 0, Vec::new());
    for seed in 0..seeds() {
        let s = match run(seed, false) {
            Ok(s) => s,
            Err(message) => {
                failures.push(message);
                continue;
            }
        };
        if s["loss_reasons"].get("unexplained").is_some() {
            failures.push(format!("seed {seed}: unexplained loss: {s}"));
        }
        elections += s["leader_elections"].as_u64().unwrap();
        effects += ["acked_lost", "duplicates", "redelivered", "failed"]
            .iter()
            .map(|k| s[*k].as_u64().unwrap())
            .sum::<u64>();
    }
    fail_on(&failures);
    // Not a stored value: across the seeds the faults must move leaders and cost
    // something (a loss, a duplicate, a redelivery), or they are too gentle to test anything.
    assert!(elections > 0 && effects > 0, "the faults never bite: {elections} elections, {effects} effects");
}

#[test]
fn acks_all_with_clean_elections_never_loses_acknowledged_records() {
    let (mut acked, mut failures) = (0, Vec::new());
    for seed in 1_000..1_000 + seeds() {
        let s = match run(seed, true) {
            Ok(s) => s,
            Err(message) => {
                failures.push(message);
                continue;
            }
        };
        assert_eq!(
            s["acked_lost"],
            0,
            "seed {seed}: acks=all lost acknowledged records: {s}\n{}",
            random_scenario(seed, true)
        );
        let scenario = random_scenario(seed, true);
        let all_idempotent = scenario["producers"].as_array().unwrap().iter().all(|p| p["enable_idempotence"] == true);
        if all_idempotent {
            assert_eq!(s["duplicates"], 0, "seed {seed}: idempotent producers stored duplicates: {s}\n{scenario}");
        }
        acked += s["acked"].as_u64().unwrap();
    }
    fail_on(&failures);
    assert!(acked > 0);
}
