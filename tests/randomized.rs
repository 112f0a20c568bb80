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

fn run(seed: u64, safe: bool) -> Value {
    let text = random_scenario(seed, safe).to_string();
    let scenario = Scenario::from_json(&text).unwrap_or_else(|e| panic!("seed {seed}: generated an invalid scenario: {e}\n{text}"));
    let mut sim = Simulation::new(&scenario);
    sim.run_until(sim.end_us());
    let s = summary(&sim);
    if s["invariant_violations"] != json!([]) || (safe && s["acked_lost"] != 0) {
        let path = replay_file(seed, &text);
        panic!("seed {seed} (safe={safe}): invariant violated or acks=all loss; replay with `kafka-sim run {path} --events`\nsummary: {s}");
    }
    s
}

#[test]
fn invariants_hold_under_random_faults() {
    let (mut elections, mut effects) = (0, 0);
    for seed in 0..seeds() {
        let s = run(seed, false);
        assert!(s["loss_reasons"].get("unexplained").is_none(), "seed {seed}: unexplained loss: {s}");
        elections += s["leader_elections"].as_u64().unwrap();
        effects += ["acked_lost", "duplicates", "redelivered", "failed"]
            .iter()
            .map(|k| s[*k].as_u64().unwrap())
            .sum::<u64>();
    }
    // Not a stored value: across the seeds the faults must move leaders and cost
    // something (a loss, a duplicate, a redelivery), or they are too gentle to test anything.
    assert!(elections > 0 && effects > 0, "the faults never bite: {elections} elections, {effects} effects");
}

#[test]
fn acks_all_with_clean_elections_never_loses_acknowledged_records() {
    let mut acked = 0;
    for seed in 1_000..1_000 + seeds() {
        let s = run(seed, true);
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
    assert!(acked > 0);
}
