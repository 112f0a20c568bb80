//! Golden fingerprints: a change here means the simulation now behaves
//! differently for the built-in presets. If the change is intended, update the
//! value and say why in the commit message; if not, it caught a regression.

use kafka_sim::report::summary;
use kafka_sim::{presets, Scenario, Simulation};

const GOLDEN: &[(&str, &str)] = &[
    ("steady", "7fb40ed65e8dc031"),
    ("busy", "8b67d373b2c2feeb"),
    ("orders", "b256a105ede6ea26"),
    // The streaming-ML presets (issue 8).
    ("fraud-broker", "81e59a93263e8cef"),
    ("fraud-slow-model", "cc0904349299e3ba"),
    ("fraud-rescore", "c9f06ed10c9a7e3f"),
    ("fraud-rebalance", "e8bcbbc77f43eaba"),
    ("rec-freshness", "783e098393ad7cae"),
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
