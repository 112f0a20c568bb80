//! Transactions (Kafka 4.x, transaction protocol 2): commits and aborts with
//! markers, read_committed against read_uncommitted, the coordinator's timeout,
//! zombie fencing, and the coordinator following its `__transaction_state`
//! partition. Each is read from the run summary and the checker's invariants.

use kafka_sim::report::summary;
use kafka_sim::scenario::Action;
use kafka_sim::sim::MS;
use kafka_sim::{Scenario, Simulation};
use serde_json::{json, Value};

fn scenario(duration_ms: u64, producer: Value) -> Scenario {
    let s = json!({
        "seed": 5, "duration_ms": duration_ms, "cluster": {"brokers": 3},
        "topics": [{"name": "orders", "partitions": 6, "replication_factor": 3, "min_insync_replicas": 2}],
        "producers": [producer, {"id": "plain", "topic": "orders", "records_per_sec": 500, "keys": 100}],
        "groups": [
            {"id": "rc", "topics": ["orders"], "isolation_level": "read_committed", "auto_offset_reset": "earliest"},
            {"id": "ru", "topics": ["orders"], "auto_offset_reset": "earliest"}
        ],
    });
    Scenario::from_json(&s.to_string()).unwrap_or_else(|e| panic!("bad test scenario: {e}"))
}

fn txn_producer(transaction_ms: u64) -> Value {
    json!({"id": "p1", "topic": "orders", "records_per_sec": 2000, "keys": 100,
           "transactional_id": "orders-tx", "transaction_ms": transaction_ms})
}

fn act(sim: &mut Simulation, t_ms: u64, action: Action) {
    sim.run_until(t_ms * MS);
    sim.inject(action).expect("valid action");
}

fn at(sim: &mut Simulation, t_ms: u64) -> Value {
    sim.run_until(t_ms * MS);
    let s = summary(sim);
    assert_eq!(s["invariant_violations"], json!([]), "{s}");
    s
}

fn consumed(sim: &Simulation, group: usize) -> u64 {
    sim.groups()[group].consumed
}

#[test]
fn read_committed_skips_aborted_transactions_and_read_uncommitted_reads_them() {
    let mut sim = Simulation::new(&scenario(30_000, txn_producer(100)));
    for t in [8_000, 12_000, 16_000] {
        act(&mut sim, t, Action::AbortTransaction { producer: "p1".into() });
    }
    let s = at(&mut sim, 30_000);
    assert_eq!(s["transactions"]["aborted"], 3, "{}", s["transactions"]);
    assert!(s["transactions"]["committed"].as_u64().unwrap() > 200, "{}", s["transactions"]);
    assert_eq!(s["aborted_records_read"]["rc"], 0);
    let ru = s["aborted_records_read"]["ru"].as_u64().unwrap();
    assert!(
        ru > 0,
        "read_uncommitted reads the aborted transactions' records: {}",
        s["aborted_records_read"]
    );
    assert_eq!(s["acked_lost"], 0);
    assert_eq!(s["errors"], json!({}), "a healthy cluster answers transactional writes without errors");
}

#[test]
fn a_dead_producers_transaction_holds_the_lso_until_the_coordinator_aborts_it() {
    let mut sim = Simulation::new(&scenario(100_000, txn_producer(500)));
    act(&mut sim, 10_200, Action::KillProducer { producer: "p1".into() });
    let s = at(&mut sim, 15_000);
    assert_eq!(s["transactions"]["timed_out"], 0);
    let (rc, ru) = (consumed(&sim, 0), consumed(&sim, 1));
    // transaction.timeout.ms is 60 s, checked every 10 s: aborted between 70.2 and 80.2 s.
    let s = at(&mut sim, 70_000);
    assert_eq!(s["transactions"]["timed_out"], 0, "not before the timeout");
    assert_eq!(consumed(&sim, 0), rc, "read_committed is held at the open transaction's first record");
    assert!(consumed(&sim, 1) > ru + 20_000, "read_uncommitted goes on (the plain producer writes 500/s)");
    let s = at(&mut sim, 81_000);
    assert_eq!(s["transactions"]["timed_out"], 1, "{}", s["transactions"]);
    assert_eq!(s["transactions"]["aborted"], 1);
    at(&mut sim, 90_000);
    assert!(consumed(&sim, 0) > rc + 20_000, "the abort marker frees the LSO");
    let s = at(&mut sim, 100_000);
    assert_eq!(s["aborted_records_read"]["rc"], 0);
}

#[test]
fn a_paused_producer_replaced_by_a_new_instance_is_fenced_when_it_wakes() {
    let mut sim = Simulation::new(&scenario(40_000, txn_producer(500)));
    act(
        &mut sim,
        10_000,
        Action::PauseProducer {
            producer: "p1".into(),
            for_ms: 8_000,
        },
    );
    act(&mut sim, 12_000, Action::RestartProducer { producer: "p1".into() });
    let s = at(&mut sim, 17_000);
    assert_eq!(s["transactions"]["fenced"], 0, "the zombie has not woken yet");
    assert_eq!(
        s["transactions"]["aborted"], 1,
        "the new instance's InitProducerId aborted the zombie's open transaction"
    );
    let s = at(&mut sim, 40_000);
    assert_eq!(s["transactions"]["fenced"], 1, "{}", s["transactions"]);
    assert_eq!(s["aborted_records_read"]["rc"], 0);
    assert!(
        s["transactions"]["committed"].as_u64().unwrap() > 40,
        "the new instance commits: {}",
        s["transactions"]
    );
}

#[test]
fn transactions_go_on_when_any_broker_dies_including_the_coordinator() {
    for broker in 0..3 {
        let mut sim = Simulation::new(&scenario(40_000, txn_producer(100)));
        act(&mut sim, 10_000, Action::KillBroker { broker });
        let before = at(&mut sim, 20_000)["transactions"]["committed"].as_u64().unwrap();
        let s = at(&mut sim, 40_000);
        let after = s["transactions"]["committed"].as_u64().unwrap();
        assert!(after > before + 100, "broker {broker} down: {before} then {after} committed");
        assert_eq!(s["acked_lost"], 0);
        assert_eq!(s["aborted_records_read"]["rc"], 0);
    }
}

#[test]
fn transactional_settings_are_checked() {
    let bad = |p: Value| {
        Scenario::from_json(&json!({"topics": [{"name": "t"}], "producers": [p]}).to_string())
            .unwrap_err()
            .to_string()
    };
    let e = bad(json!({"id": "p", "topic": "t", "transactional_id": "x", "acks": "1"}));
    assert!(e.contains("transactional_id needs acks"), "{e}");
    let e = bad(json!({"id": "p", "topic": "t", "transactional_id": "x", "transaction_timeout_ms": 1_000_000}));
    assert!(e.contains("transaction_timeout_ms"), "{e}");
    let e = bad(json!({"id": "p", "topic": "t", "transactional_id": ""}));
    assert!(e.contains("must not be empty"), "{e}");
    let s = json!({"topics": [{"name": "t"}], "producers": [{"id": "p", "topic": "t"}],
                   "actions": [{"at_ms": 1, "action": "abort_transaction", "producer": "p"}]});
    let e = Scenario::from_json(&s.to_string()).unwrap_err().to_string();
    assert!(e.contains("no transactional_id"), "{e}");
}

#[test]
fn a_coordinator_that_takes_over_a_prepared_commit_reports_the_decision() {
    // Randomized seed 1247: the coordinator wrote PrepareCommit and lost its
    // partition before it saw the write replicated; the next coordinator loaded it
    // and wrote the markers, but the decision was reported by nobody, so the
    // checker took the committed records read_committed consumers got for records
    // of a transaction never committed (read_committed_sees_committed).
    let s = Scenario::from_json(r#"{"actions":[{"action":"heal_network","at_ms":39220},{"action":"partition_network","at_ms":1953,"from":["c0"],"one_way":false,"to":[0,0]},{"action":"heal_network","at_ms":37123},{"action":"set_consumer_rate","at_ms":5081,"group":"g0","member":2,"records_per_sec":364},{"action":"set_consumer_rate","at_ms":44659,"group":"g0","member":2,"records_per_sec":187},{"action":"kill_consumer","at_ms":16731,"group":"g0","member":2},{"action":"kill_broker","at_ms":29134,"broker":2},{"action":"kill_broker","at_ms":16324,"broker":4},{"action":"stop_consumer","at_ms":33015,"group":"g0","member":2},{"action":"kill_broker","at_ms":41928,"broker":3},{"action":"pause_producer","at_ms":26299,"for_ms":6504,"producer":"p0"},{"action":"pause_producer","at_ms":44541,"for_ms":13168,"producer":"p0"},{"action":"restart_producer","at_ms":32129,"producer":"p0"},{"action":"heal_network","at_ms":52000},{"action":"restart_broker","at_ms":52000,"broker":0},{"action":"restart_broker","at_ms":52000,"broker":1},{"action":"restart_broker","at_ms":52000,"broker":2},{"action":"restart_broker","at_ms":52000,"broker":3},{"action":"restart_broker","at_ms":52000,"broker":4},{"action":"restart_controller","at_ms":52000,"controller":"c0"}],"cluster":{"brokers":5,"controllers":1,"eligible_leader_replicas_enable":false,"unclean_leader_election_enable":false},"duration_ms":60000,"groups":[{"assignor":"sticky","auto_offset_reset":"earliest","enable_auto_commit":true,"id":"g0","isolation_level":"read_committed","max_poll_interval_ms":15000,"members":3,"protocol":"classic","records_per_sec_per_member":3000,"session_timeout_ms":10000,"static_membership":false,"topics":["t0"]}],"producers":[{"acks":"all","enable_idempotence":true,"id":"p0","keys":10,"linger_ms":20,"records_per_sec":1490,"topic":"t0","transaction_ms":20,"transaction_timeout_ms":5000,"transactional_id":"tx0"}],"seed":1247,"topics":[{"min_insync_replicas":1,"name":"t0","partitions":2,"replication_factor":3}]}"#).expect("valid scenario");
    let mut sim = Simulation::new(&s);
    let v = at(&mut sim, 60_000);
    assert_eq!(v["aborted_records_read"]["g0"], 0);
    assert_eq!(v["transactions"]["fenced"], 1, "{}", v["transactions"]);
}

#[test]
fn a_coordinator_that_loses_its_partition_with_adds_queued_does_not_stall_the_producer() {
    // Found by an independent review: the coordinator broker is paused 1 ms after
    // it writes PrepareCommit. Adds queued behind that write were dropped unanswered
    // when it stopped leading __transaction_state, and the partition leaders held
    // the batches for good (later ones never asked again): the producer committed
    // nothing more, its transaction timed out and it was reported fenced. Now the
    // queued adds are answered NOT_COORDINATOR and a leader answers a held batch
    // after 5 s at the latest; the producer retries with the next coordinator.
    let s = Scenario::from_json(r#"{"seed":7,"duration_ms":120000,"cluster":{"brokers":3},"topics":[{"name":"t","partitions":6,"replication_factor":3,"min_insync_replicas":2}],"producers":[{"id":"p","topic":"t","records_per_sec":2000,"keys":1000,"transactional_id":"p-tx","transaction_ms":200}],"groups":[{"id":"rc","topics":["t"],"isolation_level":"read_committed","auto_offset_reset":"earliest"}],"actions":[{"at_ms":10049,"action":"pause_broker","broker":1,"for_ms":12000}]}"#).expect("valid scenario");
    let mut sim = Simulation::new(&s);
    let end = sim.end_us() / MS;
    let v = at(&mut sim, end);
    assert_eq!(v["transactions"]["fenced"], 0, "{}", v["transactions"]);
    assert!(v["transactions"]["committed"].as_u64().unwrap() > 400, "{}", v["transactions"]);
}

#[test]
fn a_read_committed_consumer_starting_at_latest_starts_at_the_lso() {
    // Found by an independent review: ListOffsets "latest" answered the HW to
    // read_committed consumers too, so one that joined while a transaction was open
    // started past it and never saw its records, even once committed. Kafka
    // answers the LSO by isolation level.
    let s = json!({
        "seed": 9, "duration_ms": 30_000, "cluster": {"brokers": 3},
        "topics": [{"name": "orders", "partitions": 3, "replication_factor": 3, "min_insync_replicas": 2}],
        "producers": [{"id": "p1", "topic": "orders", "records_per_sec": 1000, "keys": 100,
                       "transactional_id": "orders-tx", "transaction_ms": 10_000}],
        "groups": [
            {"id": "latest", "topics": ["orders"], "isolation_level": "read_committed", "auto_offset_reset": "latest"},
            {"id": "earliest", "topics": ["orders"], "isolation_level": "read_committed", "auto_offset_reset": "earliest"}
        ],
    });
    let mut sim = Simulation::new(&Scenario::from_json(&s.to_string()).unwrap());
    let v = at(&mut sim, 30_000);
    assert!(v["transactions"]["committed"].as_u64().unwrap() >= 2, "{}", v["transactions"]);
    // The groups join at about 3 s, inside the first transaction (0-10 s): latest
    // starts at its first record, like earliest.
    assert!(consumed(&sim, 0) > 15_000, "latest: {}", consumed(&sim, 0));
    assert_eq!(consumed(&sim, 0), consumed(&sim, 1));
}
