//! Golden fingerprints: a change here means the simulation now behaves
//! differently for the built-in presets. If the change is intended, update the
//! value and say why in the commit message; if not, it caught a regression.

use kafka_sim::report::summary;
use kafka_sim::{presets, Scenario, Simulation};

const GOLDEN: &[(&str, &str)] = &[
    ("steady", "630fcbc99940e191"),
    ("busy", "d0f7c1bd4d8b327a"),
    ("orders", "1548956a33417861"),
    // The streaming-ML presets (issue 8).
    ("fraud-broker", "54850863b5b4a008"),
    ("fraud-slow-model", "b2d2f9ac12ffe8db"),
    ("fraud-rescore", "a2eb9dc460429171"),
    ("fraud-rebalance", "aafb3b6acd8ec651"),
    ("rec-freshness", "c1031f82c0506ea0"),
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
