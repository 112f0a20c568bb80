//! Golden fingerprints: a change here means the simulation now behaves
//! differently for the built-in presets. If the change is intended, update the
//! value and say why in the commit message; if not, it caught a regression.

use kafka_sim::report::summary;
use kafka_sim::{presets, Scenario, Simulation};

const GOLDEN: &[(&str, &str)] = &[
    ("steady", "03bcef9a6583dbbc"),
    ("busy", "c68929755111fd22"),
    ("orders", "2723ee2a2687e3ee"),
    // The streaming-ML presets (issue 8).
    ("fraud-broker", "6851fca9ca6e2f96"),
    ("fraud-slow-model", "f6840657c0aadda7"),
    ("fraud-rescore", "9ee8b7907c44adc4"),
    ("fraud-rebalance", "30b201eb35cc561a"),
    ("rec-freshness", "addec9f76afe208f"),
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
