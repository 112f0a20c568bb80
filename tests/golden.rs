//! Golden fingerprints: a change here means the simulation now behaves
//! differently for the built-in presets. If the change is intended, update the
//! value and say why in the commit message; if not, it caught a regression.

use kafka_sim::report::summary;
use kafka_sim::{presets, Scenario, Simulation};

const GOLDEN: &[(&str, &str)] = &[
    ("steady", "df8d2484cea0119e"),
    ("busy", "3acc7418d05aaa05"),
    ("orders", "a1b33d6b1e132344"),
    // The streaming-ML presets (issue 8).
    ("fraud-broker", "eb0be2c4740d811a"),
    ("fraud-slow-model", "fc6f7894e92c24cf"),
    ("fraud-rescore", "b52c6445e17dc03b"),
    ("fraud-rebalance", "2e9250699408b8af"),
    ("rec-freshness", "7c6d49e5320e8d2b"),
];

#[test]
fn presets_match_their_golden_fingerprints() {
    for (id, expected) in GOLDEN {
        let scenario = Scenario::from_json(presets::find(id).expect("preset exists").json).unwrap();
        let mut sim = Simulation::new(&scenario);
        sim.run_until(sim.end_us());
        let s = summary(&sim);
        assert_eq!(s["invariant_violations"], serde_json::json!([]), "{id}: {s}");
        assert_eq!(s["fingerprint"], *expected, "preset {id} changed behaviour: {s}");
    }
}

#[test]
fn every_preset_has_a_golden_fingerprint() {
    for p in presets::PRESETS {
        assert!(GOLDEN.iter().any(|(id, _)| *id == p.id), "preset {} has no golden fingerprint", p.id);
    }
}
