//! Golden fingerprints: a change here means the simulation now behaves
//! differently for the built-in presets. If the change is intended, update the
//! value and say why in the commit message; if not, it caught a regression.

use kafka_sim::report::summary;
use kafka_sim::{presets, Scenario, Simulation};

const GOLDEN: &[(&str, &str)] = &[
    ("steady", "630fcbc99940e191"),
    ("busy", "d0f7c1bd4d8b327a"),
    ("orders", "b9d2bbb3fbef2e80"),
    // The streaming-ML presets (issue 8).
    ("fraud-broker", "1c0121ba26ab3d92"),
    ("fraud-slow-model", "d032746c9d82fa87"),
    ("fraud-rescore", "bc8bd9c7c3dc0f2c"),
    ("fraud-rebalance", "247d0d4d076aa7b5"),
    ("rec-freshness", "1997ab6f5d663787"),
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
