//! Golden fingerprints: a change here means the simulation now behaves
//! differently for the built-in presets. If the change is intended, update the
//! value and say why in the commit message; if not, it caught a regression.

use kafka_sim::report::summary;
use kafka_sim::{presets, Scenario, Simulation};

const GOLDEN: &[(&str, &str)] = &[
    ("steady", "8fa2ca56d4fb5ea9"),
    ("busy", "53cdf9803361ca33"),
    ("orders", "c105ad789657719c"),
    // The streaming-ML presets (issue 8).
    ("fraud-broker", "700eb0cb7027d3ff"),
    ("fraud-slow-model", "9e6985a335f9e5a6"),
    ("fraud-rescore", "4541be960b76b1c8"),
    ("fraud-rebalance", "5fb4afec56400d8a"),
    ("rec-freshness", "12e348af2a9532ea"),
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
