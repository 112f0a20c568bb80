//! Streaming ML on the simulated cluster (issue 8): the fraud scorer learns from
//! late labels, at-least-once delivery re-scores after a crash, lag delays
//! detection, the recommender beats the most-popular baseline, and a broker
//! failure with acks=all loses no transaction. Thresholds, never stored values.

use kafka_sim::report::summary;
use kafka_sim::sim::MS;
use kafka_sim::{presets, Scenario, Simulation};
use serde_json::Value;

fn fraud_scenario(seed: u64, duration_ms: u64, group_extra: &str, actions: &str) -> Scenario {
    let json = format!(
        r#"{{"seed": {seed}, "duration_ms": {duration_ms}, "cluster": {{"brokers": 3}},
            "topics": [{{"name": "transactions", "partitions": 6, "replication_factor": 3, "min_insync_replicas": 2}}],
            "producers": [{{"id": "cards", "topic": "transactions", "records_per_sec": 2000, "record_bytes": 200,
                           "keys": 2000, "acks": "all", "workload": "transactions"}}],
            "groups": [{{"id": "scorer", "topics": ["transactions"], "members": 3, "auto_offset_reset": "earliest",
                        "processor": "fraud_lr"{group_extra}}}],
            "actions": [{actions}]}}"#
    );
    Scenario::from_json(&json).unwrap_or_else(|e| panic!("bad test scenario: {e}"))
}

fn run(s: &Scenario) -> (Value, Simulation) {
    let mut sim = Simulation::new(s);
    sim.run_until(sim.end_us());
    let v = summary(&sim);
    assert_eq!(v["invariant_violations"], serde_json::json!([]), "invariants violated: {v}");
    (v, sim)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

#[test]
fn the_scorer_learns_on_every_seed() {
    for seed in [1, 2, 3, 4, 5] {
        let (v, _) = run(&fraud_scenario(seed, 60_000, r#", "records_per_sec_per_member": 5000"#, ""));
        let m = &v["model"]["scorer"];
        assert!(f(&m["auc"]) > 0.75, "seed {seed}: {m}");
        assert!(u(&m["scored"]) > 100_000, "seed {seed}: {m}");
    }
}

#[test]
fn the_summary_has_a_model_object_per_processing_group() {
    let (v, _) = run(&fraud_scenario(9, 20_000, "", ""));
    let names: Vec<&str> = v["model"]["scorer"].as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let mut expected = vec![
        "auc",
        "precision",
        "recall",
        "detection_latency_ms_p50",
        "detection_latency_ms_p99",
        "scored",
        "rescored",
        "unscored",
    ];
    expected.sort_unstable();
    assert_eq!(names, expected);
    // Scenarios without a processor keep their summary as it was.
    let plain = Scenario::from_json(presets::find("orders").unwrap().json).unwrap();
    let mut sim = Simulation::new(&plain);
    sim.run_until(5_000 * MS);
    assert!(summary(&sim).get("model").is_none());
}

#[test]
fn labels_arrive_after_their_delay() {
    let s = fraud_scenario(2, 30_000, r#", "records_per_sec_per_member": 5000"#, "");
    let mut s20 = s.clone();
    s20.producers[0].label_delay_ms = Some(20_000);
    let mut sim = Simulation::new(&s20);
    sim.run_until(18_000 * MS);
    let early = sim.model_view(0).unwrap();
    assert_eq!(early.labels_trained, Some(0), "labels before their delay: {early:?}");
    assert!(early.scored > 10_000, "{early:?}");
    sim.run_until(30_000 * MS);
    assert!(sim.model_view(0).unwrap().labels_trained.unwrap() > 10_000);
}

#[test]
fn a_consumer_crash_with_auto_commit_rescores_and_skips_nothing() {
    let s = fraud_scenario(
        4,
        60_000,
        r#", "records_per_sec_per_member": 5000, "session_timeout_ms": 10000, "enable_auto_commit": true"#,
        r#"{"at_ms": 21000, "action": "kill_consumer", "group": "scorer", "member": 1}"#,
    );
    let (v, _) = run(&s);
    let m = &v["model"]["scorer"];
    assert!(u(&m["rescored"]) > 0, "{m}");
    assert_eq!(u(&m["unscored"]), 0, "{m}");
    // Without the crash nothing is scored twice.
    let (calm, _) = run(&fraud_scenario(4, 60_000, r#", "records_per_sec_per_member": 5000"#, ""));
    assert_eq!(u(&calm["model"]["scorer"]["rescored"]), 0, "{calm}");
}

#[test]
fn detection_latency_rises_with_lag() {
    // Six partitions over three members; 4,000 records/s arrive (transactions and labels).
    let fast = run(&fraud_scenario(6, 90_000, r#", "records_per_sec_per_member": 5000"#, "")).0;
    let slow = run(&fraud_scenario(6, 90_000, r#", "records_per_sec_per_member": 5000, "model_cost_us": 1000"#, "")).0;
    let (fm, sm) = (&fast["model"]["scorer"], &slow["model"]["scorer"]);
    assert!(
        u(&slow["final_lag"]["scorer"]) > 5 * u(&fast["final_lag"]["scorer"]).max(1_000),
        "{fast} {slow}"
    );
    assert!(f(&sm["detection_latency_ms_p50"]) > 10.0 * f(&fm["detection_latency_ms_p50"]), "{fm} {sm}");
    assert!(f(&sm["detection_latency_ms_p99"]) > f(&fm["detection_latency_ms_p99"]), "{fm} {sm}");
}

#[test]
fn killing_a_broker_with_acks_all_loses_no_transaction() {
    let s = fraud_scenario(
        8,
        80_000,
        r#", "records_per_sec_per_member": 5000"#,
        r#"{"at_ms": 20000, "action": "kill_broker", "broker": 1}, {"at_ms": 50000, "action": "restart_broker", "broker": 1}"#,
    );
    let (v, sim) = run(&s);
    assert_eq!(u(&v["acked_lost"]), 0, "{v}");
    assert!(u(&v["leader_elections"]) > 0, "the kill moved no leader: {v}");
    let audit = sim.audit_report();
    assert_eq!(audit.lost, 0);
    let m = &v["model"]["scorer"];
    assert_eq!(u(&m["unscored"]), 0, "{m}");
    assert!(f(&m["auc"]) > 0.75, "{m}");
}

fn rec_scenario(seed: u64, rate_per_member: u64, actions: &str) -> Scenario {
    let json = format!(
        r#"{{"seed": {seed}, "duration_ms": 120000, "cluster": {{"brokers": 3}},
            "topics": [{{"name": "user_behavior", "partitions": 6, "replication_factor": 3, "min_insync_replicas": 2}}],
            "producers": [{{"id": "web", "topic": "user_behavior", "records_per_sec": 1000, "keys": 2000, "workload": "user_behavior"}}],
            "groups": [{{"id": "recommender", "topics": ["user_behavior"], "members": 2, "auto_offset_reset": "earliest",
                        "records_per_sec_per_member": {rate_per_member}, "processor": "item_cf"}}],
            "actions": [{actions}]}}"#
    );
    Scenario::from_json(&json).unwrap_or_else(|e| panic!("bad test scenario: {e}"))
}

#[test]
fn the_recommender_beats_the_most_popular_baseline() {
    for seed in [1, 2, 3] {
        let (v, sim) = run(&rec_scenario(seed, 2000, ""));
        let view = sim.model_view(0).unwrap();
        let (hit, base) = (view.hit_rate_at_10.unwrap(), view.baseline_hit_rate_at_10.unwrap());
        assert!(hit > base + 0.05, "seed {seed}: item_cf {hit} vs most popular {base}");
        assert_eq!(f(&v["model"]["recommender"]["hit_rate_at_10"]), hit);
        assert!(u(&v["model"]["recommender"]["recommendations"]) > 100_000, "{v}");
    }
}

#[test]
fn a_lagging_recommender_serves_staler_lists() {
    let fresh = run(&rec_scenario(5, 2000, "")).1.model_view(0).unwrap();
    let slowdown = r#"{"at_ms": 20000, "action": "set_consumer_rate", "group": "recommender", "member": 0, "records_per_sec": 250},
                      {"at_ms": 20000, "action": "set_consumer_rate", "group": "recommender", "member": 1, "records_per_sec": 250}"#;
    let stale = run(&rec_scenario(5, 2000, slowdown)).1.model_view(0).unwrap();
    assert!(
        stale.hit_rate_at_10.unwrap() + 0.05 < fresh.hit_rate_at_10.unwrap(),
        "fresh {fresh:?} stale {stale:?}"
    );
}

#[test]
fn ml_scenarios_are_deterministic() {
    let s = fraud_scenario(
        3,
        40_000,
        r#", "records_per_sec_per_member": 5000"#,
        r#"{"at_ms": 15000, "action": "kill_consumer", "group": "scorer", "member": 0}"#,
    );
    let (a, _) = run(&s);
    let (b, _) = run(&s);
    assert_eq!(a, b);
    let mut other = s.clone();
    other.seed = 99;
    assert_ne!(run(&other).0["fingerprint"], a["fingerprint"]);
}

#[test]
fn bad_ml_settings_give_one_clear_line() {
    let base = |producer_extra: &str, group_extra: &str| {
        format!(
            r#"{{"topics": [{{"name": "transactions", "partitions": 2}}, {{"name": "other"}}],
                "producers": [{{"id": "p", "topic": "transactions", "keys": 10{producer_extra}}}],
                "groups": [{{"id": "g", "topics": ["transactions"]{group_extra}}}]}}"#
        )
    };
    let cases = [
        (base(r#", "workload": "payments""#, ""), "unknown variant `payments`"),
        (
            base(r#", "workload": "transactions""#, r#", "processor": "deep_net""#),
            "unknown variant `deep_net`",
        ),
        (
            base("", r#", "processor": "fraud_lr""#),
            "needs a subscribed topic written by a producer with workload \"transactions\"",
        ),
        (
            base(r#", "workload": "transactions""#, r#", "processor": "item_cf""#),
            "workload \"user_behavior\"",
        ),
        (base(r#", "label_delay_ms": 100"#, ""), "label_delay_ms needs workload \"transactions\""),
        (base(r#", "workload": "labels""#, ""), "is internal"),
        (base("", r#", "model_cost_us": 5"#), "model_cost_us needs a processor"),
        (
            r#"{"topics": [{"name": "t"}], "producers": [{"id": "p", "topic": "t", "workload": "user_behavior"}]}"#.to_string(),
            "set keys",
        ),
    ];
    for (input, expected) in cases {
        let e = Scenario::from_json(&input).unwrap_err().to_string();
        assert!(e.contains(expected), "{input}: got {e:?}, expected it to contain {expected:?}");
        assert!(!e.contains('\n'), "{input}: error spans lines: {e:?}");
    }
    // The engine-made topics may be named by a group.
    let ok =
        base(r#", "workload": "transactions""#, r#", "processor": "fraud_lr""#).replace(r#"["transactions"]"#, r#"["transactions", "transaction_labels"]"#);
    Scenario::from_json(&ok).unwrap();
}

#[test]
fn every_ml_preset_runs_clean_and_replays_identically() {
    for id in ["fraud-broker", "fraud-slow-model", "fraud-rescore", "fraud-rebalance", "rec-freshness"] {
        let s = Scenario::from_json(presets::find(id).expect("preset exists").json).unwrap();
        let mut a = Simulation::new(&s);
        a.run_until(40_000 * MS);
        let mut b = Simulation::new(&s);
        b.run_until(40_000 * MS);
        assert_eq!(summary(&a), summary(&b), "preset {id}");
        assert!(a.models().next().is_some(), "preset {id} has no model");
    }
}
