//! Same scenario and seed, same run: the trace fingerprint is equal; another seed differs.

use kafka_sim::{presets, Scenario, Simulation};

fn fingerprint(json: &str, seed: Option<u64>) -> (String, u64) {
    let mut s = Scenario::from_json(json).unwrap();
    if let Some(seed) = seed {
        s.seed = seed;
    }
    let mut sim = Simulation::new(&s);
    sim.run_until(sim.end_us().min(20_000_000));
    (sim.fingerprint(), sim.events_processed())
}

#[test]
fn same_seed_same_fingerprint_other_seed_other_fingerprint() {
    for preset in presets::PRESETS {
        let a = fingerprint(preset.json, None);
        let b = fingerprint(preset.json, None);
        assert_eq!(a, b, "preset {} is not deterministic", preset.id);
        assert!(a.1 > 1000, "preset {} processed only {} events", preset.id, a.1);
        let c = fingerprint(preset.json, Some(12345));
        assert_ne!(a.0, c.0, "preset {}: another seed gave the same fingerprint", preset.id);
    }
}

#[test]
fn checkpoint_is_a_clone_that_replays_identically() {
    let s = Scenario::from_json(presets::find("steady").unwrap().json).unwrap();
    let mut sim = Simulation::new(&s);
    sim.run_until(5_000_000);
    let mut copy = sim.clone();
    sim.run_until(15_000_000);
    copy.run_until(15_000_000);
    assert_eq!(sim.fingerprint(), copy.fingerprint());
}

#[test]
fn a_checkpoint_plus_the_recorded_actions_replays_the_same_run() {
    use kafka_sim::scenario::Action;
    let s = Scenario::from_json(presets::find("orders").unwrap().json).unwrap();
    let mut live = Simulation::new(&s);
    live.run_until(5_000_000);
    let checkpoint = live.clone();
    live.run_until(7_250_000);
    live.inject(Action::KillBroker { broker: 1 }).unwrap();
    live.run_until(9_000_000);
    live.inject(Action::AddConsumer { group: "billing".into() }).unwrap();
    live.run_until(20_000_000);
    // Replay: the checkpoint, the injected actions at their recorded times, same end.
    let mut replay = checkpoint;
    for a in live.injected_actions() {
        replay.schedule(a.at_us, a.action.clone()).unwrap();
    }
    replay.run_until(20_000_000);
    assert_eq!(replay.fingerprint(), live.fingerprint());
    assert_eq!(kafka_sim::report::summary(&replay), kafka_sim::report::summary(&live));
}
