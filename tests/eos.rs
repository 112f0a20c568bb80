//! Consume-transform-produce (`processing_guarantee`, Kafka Streams' loop):
//! exactly_once_v2 commits each member's outputs and input offsets in one
//! transaction (TxnOffsetCommit, fenced by generation, KIP-447), so every input
//! below the committed offsets has exactly one committed output under every
//! fault; at_least_once commits offsets after a flush, and inputs read again
//! after a crash repeat their outputs. Read from the run summary's `eos` object.

use kafka_sim::report::summary;
use kafka_sim::{Scenario, Simulation};
use serde_json::{json, Value};

fn scenario(guarantee: &str, input_producer: Value, actions: Value) -> Scenario {
    let s = json!({
        "seed": 7, "duration_ms": 60_000, "cluster": {"brokers": 3, "controllers": 3},
        "topics": [{"name": "payments", "partitions": 3, "replication_factor": 3, "min_insync_replicas": 2},
                   {"name": "scores", "partitions": 3, "replication_factor": 3, "min_insync_replicas": 2}],
        "producers": [input_producer],
        "groups": [{"id": "scorer", "topics": ["payments"], "members": 2, "output_topic": "scores",
                    "processing_guarantee": guarantee, "session_timeout_ms": 10_000}],
        "actions": actions,
    });
    Scenario::from_json(&s.to_string()).unwrap_or_else(|e| panic!("bad test scenario: {e}"))
}

fn payments() -> Value {
    json!({"id": "pay", "topic": "payments", "records_per_sec": 1000, "keys": 100, "acks": "all"})
}

fn run(s: &Scenario) -> Value {
    let mut sim = Simulation::new(s);
    sim.run_until(s.duration_ms * kafka_sim::sim::MS);
    summary(&sim)
}

/// Runs exactly_once_v2 under `actions`: no repeat, nothing missing, most of the input processed.
fn exactly_once_under(actions: Value) -> Value {
    let s = run(&scenario("exactly_once_v2", payments(), actions));
    assert_eq!(s["invariant_violations"], json!([]), "{s}");
    let e = &s["eos"]["scorer"];
    assert_eq!(e["duplicate_outputs"], 0, "{e}");
    assert_eq!(e["missing_outputs"], 0, "{e}");
    assert!(e["inputs"].as_u64().unwrap() > 50_000, "the group kept processing: {e}, lag {}", s["final_lag"]);
    assert_eq!(e["inputs"], e["outputs"], "{e}");
    s
}

#[test]
fn exactly_once_survives_a_consumer_crash() {
    let s = exactly_once_under(json!([
        {"at_ms": 12_000, "action": "kill_consumer", "group": "scorer", "member": 0},
        {"at_ms": 14_000, "action": "restart_consumer", "group": "scorer", "member": 0}
    ]));
    // The dead member's open transaction was aborted (by its new instance's InitProducerId).
    assert!(s["transactions"]["aborted"].as_u64().unwrap() >= 1, "{}", s["transactions"]);
}

#[test]
fn at_least_once_repeats_outputs_after_a_consumer_crash() {
    let actions = json!([
        {"at_ms": 12_000, "action": "kill_consumer", "group": "scorer", "member": 0},
        {"at_ms": 14_000, "action": "restart_consumer", "group": "scorer", "member": 0}
    ]);
    let s = run(&scenario("at_least_once", payments(), actions));
    let e = &s["eos"]["scorer"];
    // Nothing was committed before the crash (commit.interval.ms 30 s): what both
    // members had processed is processed again after the rebalance.
    assert!(e["duplicate_outputs"].as_u64().unwrap() > 5_000, "{e}");
    assert_eq!(e["missing_outputs"], 0, "at least once: {e}");
    assert_eq!(s["transactions"]["committed"], 0, "no transactions: {}", s["transactions"]);
}

#[test]
fn exactly_once_survives_the_group_coordinators_broker_dying() {
    // Broker 0 leads the group's __consumer_offsets partition here: the group
    // coordinator moves, the open transactions abort, and the members go back
    // to their committed offsets. Before the fix, a member whose OffsetFetch
    // went to the dead coordinator never asked again (lag 17,334 at the end).
    let s = exactly_once_under(json!([
        {"at_ms": 12_000, "action": "kill_broker", "broker": 0},
        {"at_ms": 20_000, "action": "restart_broker", "broker": 0}
    ]));
    assert!(s["final_lag"]["scorer"].as_u64().unwrap() < 2_000, "{}", s["final_lag"]);
}

#[test]
fn exactly_once_survives_transaction_coordinators_and_leaders_dying() {
    for b in [1, 2] {
        exactly_once_under(json!([
            {"at_ms": 12_000, "action": "kill_broker", "broker": b},
            {"at_ms": 20_000, "action": "restart_broker", "broker": b}
        ]));
    }
}

#[test]
fn a_zombie_member_is_fenced_and_its_outputs_never_count() {
    // Paused past its session timeout: its partitions move; when it wakes, its
    // transaction was aborted by the coordinator's timeout (10 s, Kafka Streams'
    // transaction.timeout.ms) and its producer is refused (fenced).
    let s = exactly_once_under(json!([
        {"at_ms": 12_000, "action": "pause_consumer", "group": "scorer", "member": 0, "for_ms": 20_000}
    ]));
    assert!(s["transactions"]["timed_out"].as_u64().unwrap() >= 1, "{}", s["transactions"]);
    assert!(s["transactions"]["fenced"].as_u64().unwrap() >= 1, "{}", s["transactions"]);
}

#[test]
fn exactly_once_reads_a_transactional_input_committed_only() {
    // The input producer is transactional and aborts now and then, and dies: the
    // group reads committed input only (read_committed), so aborted inputs are
    // neither processed nor counted.
    let producer = json!({"id": "pay", "topic": "payments", "records_per_sec": 1000, "keys": 100,
                          "transactional_id": "pay-tx", "transaction_ms": 200});
    let actions = json!([
        {"at_ms": 10_000, "action": "abort_transaction", "producer": "pay"},
        {"at_ms": 15_000, "action": "kill_consumer", "group": "scorer", "member": 1},
        {"at_ms": 16_000, "action": "restart_consumer", "group": "scorer", "member": 1},
        {"at_ms": 20_000, "action": "kill_producer", "producer": "pay"},
        {"at_ms": 22_000, "action": "restart_producer", "producer": "pay"}
    ]);
    let s = run(&scenario("exactly_once", producer, actions));
    assert_eq!(s["invariant_violations"], json!([]), "{s}");
    let e = &s["eos"]["scorer"];
    assert_eq!((e["duplicate_outputs"].as_u64(), e["missing_outputs"].as_u64()), (Some(0), Some(0)), "{e}");
    assert_eq!(e["processing_guarantee"], "exactly_once_v2", "exactly_once is an alias");
    assert_eq!(s["aborted_records_read"]["scorer"], 0);
}

#[test]
fn the_fraud_scorer_writes_its_alerts_exactly_once() {
    let s = json!({
        "seed": 3, "duration_ms": 40_000, "cluster": {"brokers": 3},
        "topics": [{"name": "transactions", "partitions": 4, "replication_factor": 3, "min_insync_replicas": 2}],
        "producers": [{"id": "pos", "topic": "transactions", "records_per_sec": 1000, "keys": 500, "workload": "transactions"}],
        "groups": [{"id": "fraud", "topics": ["transactions"], "members": 2, "processor": "fraud_lr",
                    "processing_guarantee": "exactly_once_v2", "session_timeout_ms": 10_000}],
        "actions": [{"at_ms": 15_000, "action": "kill_consumer", "group": "fraud", "member": 1},
                    {"at_ms": 17_000, "action": "restart_consumer", "group": "fraud", "member": 1}],
    });
    let sc = Scenario::from_json(&s.to_string()).expect("valid");
    let s = run(&sc);
    assert_eq!(s["invariant_violations"], json!([]), "{s}");
    let e = &s["eos"]["fraud"];
    assert!(e["outputs"].as_u64().unwrap() > 20_000, "scores written to fraud_alerts: {e}");
    assert_eq!((e["duplicate_outputs"].as_u64(), e["missing_outputs"].as_u64()), (Some(0), Some(0)), "{e}");
    assert!(s["model"]["fraud"]["auc"].is_number(), "the model still scores: {}", s["model"]);
}

#[test]
fn processing_settings_are_checked_with_one_clear_line() {
    let bad = |group: Value| {
        let s = json!({"topics": [{"name": "a"}, {"name": "b"}], "groups": [group]});
        Scenario::from_json(&s.to_string()).map(|_| ()).unwrap_err().to_string()
    };
    let e = bad(json!({"id": "g", "topics": ["a"], "processing_guarantee": "exactly_once_v2"}));
    assert!(e.contains("needs output_topic"), "{e}");
    let e = bad(json!({"id": "g", "topics": ["a"], "output_topic": "b"}));
    assert!(e.contains("output_topic needs processing_guarantee"), "{e}");
    let e = bad(json!({"id": "g", "topics": ["a"], "output_topic": "a", "processing_guarantee": "at_least_once"}));
    assert!(e.contains("also one of its input topics"), "{e}");
    let e = bad(json!({"id": "g", "topics": ["a"], "output_topic": "nope", "processing_guarantee": "at_least_once"}));
    assert!(e.contains("unknown topic"), "{e}");
    let e = bad(json!({"id": "g", "topics": ["a"], "protocol": "share", "output_topic": "b", "processing_guarantee": "at_least_once"}));
    assert!(e.contains("share groups do not support processing_guarantee"), "{e}");
    let e = bad(json!({"id": "g", "topics": ["a"], "output_topic": "b", "processing_guarantee": "twice"}));
    assert!(!e.is_empty() && !e.contains('\n'), "{e}");
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/eos/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    run(&Scenario::from_json(&text).expect("valid fixture"))
}

#[test]
fn an_abort_marker_before_the_offsets_were_replicated_drops_them() {
    // Randomized seed 1180: a member stopped while its TxnOffsetCommit was being
    // written; the ABORT marker reached the coordinator before the write was
    // replicated, when the offsets were not held yet; they were held afterwards
    // and applied by the next COMMIT of the same producer id (its restarted
    // instance): 500 inputs committed without outputs. Now the offsets are held
    // from the moment they are in the log.
    let s = fixture("seed-1180-abort-marker-before-offsets-held.json");
    assert_eq!(s["invariant_violations"], json!([]), "{}", s["invariant_violations"]);
    let e = &s["eos"]["e0"];
    assert_eq!((e["duplicate_outputs"].as_u64(), e["missing_outputs"].as_u64()), (Some(0), Some(0)), "{e}");
}

#[test]
fn at_least_once_does_not_commit_offsets_taken_before_a_rebalance() {
    // Randomized seed 1050: an at_least_once member took its offsets, waited for
    // its producer's flush, and committed them after a rebalance had moved the
    // partition: the group's offset went back (1000 -> 0). Kafka Streams flushes
    // and commits in one turn of its loop; here the commit is dropped if the
    // generation changed, and what moved is processed again by its new owner.
    let s = fixture("seed-1050-alos-commit-after-rebalance.json");
    assert_eq!(s["invariant_violations"], json!([]), "{}", s["invariant_violations"]);
    assert_eq!(s["eos"]["e0"]["missing_outputs"], 0);
}

#[test]
fn an_offset_fetch_answer_does_not_move_a_partition_that_has_its_position() {
    // Randomized seed 481: a KIP-848 member asked for committed offsets twice as
    // its assignment shrank; the first answer (none) and auto.offset.reset gave
    // partition t0-1 its position, it read 115 records, then the second answer
    // sent it back to auto.offset.reset and the records were read (and their
    // outputs committed) again: 114 repeats. Kafka applies committed offsets only
    // to partitions still initializing.
    let s = fixture("seed-481-offset-fetch-after-reset.json");
    assert_eq!(s["invariant_violations"], json!([]), "{}", s["invariant_violations"]);
    assert_eq!(s["eos"]["e0"]["duplicate_outputs"], 0, "{}", s["eos"]);
}

#[test]
fn a_member_that_goes_back_to_its_committed_offsets_commits_nothing_before_it_knows_them() {
    // Randomized seed 789: after an abort the member dropped its positions but
    // kept what it had consumed; its partition's leader was paused, so the
    // position came back late, and meanwhile the member committed the old
    // consumed offset (500) inside a transaction with no outputs for 0..500
    // (500 missing), then the late position (0) went back.
    let s = fixture("seed-789-rewind-keeps-consumed.json");
    assert_eq!(s["invariant_violations"], json!([]), "{}", s["invariant_violations"]);
    assert_eq!(s["eos"]["e0"]["missing_outputs"], 0, "{}", s["eos"]);
}

#[test]
fn inputs_skipped_by_auto_offset_reset_are_not_inputs() {
    // Randomized seed 1671: a member behind a network cut found its position
    // below the leader's log start (retention) and auto.offset.reset moved it
    // past 189 records it never processed; the audit counted them as inputs
    // without output. Kafka promises nothing for records deleted before they
    // were read: the audit now starts the partition's inputs at the reset.
    let s = fixture("seed-1671-retention-reset.json");
    assert_eq!(s["invariant_violations"], json!([]), "{}", s["invariant_violations"]);
    assert_eq!(s["eos"]["e0"]["missing_outputs"], 0, "{}", s["eos"]);
}

#[test]
fn a_member_finds_the_group_coordinator_again_after_not_coordinator() {
    // Randomized seed 2196 (safe): a one-way cut left broker 2 answering as the
    // group's coordinator after the group had moved. The members' transactional
    // offsets were refused (NOT_COORDINATOR, INVALID_TXN_STATE) and they never
    // looked the coordinator up again, and a lost OffsetFetch was never asked
    // again: no commit in 60 s (0 inputs). Now NOT_COORDINATOR sends the member
    // to FindCoordinator, and partitions without a position are asked for again.
    let s = fixture("seed-2196-stale-coordinator.json");
    assert_eq!(s["invariant_violations"], json!([]), "{}", s["invariant_violations"]);
    assert!(s["eos"]["e0"]["inputs"].as_u64().unwrap() > 10_000, "{}", s["eos"]);
    assert!(s["transactions"]["committed"].as_u64().unwrap() > 20, "{}", s["transactions"]);
}

#[test]
fn a_transactional_producer_retries_an_out_of_order_cascade_instead_of_aborting() {
    // Randomized seed 3780: a 50 ms slower link to a transaction coordinator made
    // a leader answer CONCURRENT_TRANSACTIONS for a held batch; the batches
    // behind it got OUT_OF_ORDER_SEQUENCE_NUMBER, which a transactional producer
    // treated as abortable even when it only cascaded from the retriable error,
    // so a member aborted every 200 ms (3 commits in 60 s) and in one of those
    // races 500 inputs lost their output. As without transactions (KIP-360), a
    // cascade is retried; only a real gap aborts.
    let s = fixture("seed-3780-slow-link-abort-loop.json");
    assert_eq!(s["invariant_violations"], json!([]), "{}", s["invariant_violations"]);
    assert!(s["transactions"]["committed"].as_u64().unwrap() > 40, "{}", s["transactions"]);
    assert_eq!(s["eos"]["e0"]["missing_outputs"], 0, "{}", s["eos"]);
}

#[test]
fn unclean_elections_of_coordinator_partitions_excuse_what_they_lose() {
    // Randomized seed 5650 (unclean elections on): __transaction_state lost a
    // PrepareCommit to an unclean election, and the next coordinator aborted
    // that transaction; __consumer_offsets lost commits the same way, and a
    // group's offset went back. Kafka allows both once it elects an out-of-sync
    // replica; the checker now excuses them for those partitions only, as it
    // excuses acks=all losses.
    let s = fixture("seed-5650-unclean-coordinators.json");
    assert!(s["unclean_elections"].as_u64().unwrap() > 0);
    assert_eq!(s["invariant_violations"], json!([]), "{}", s["invariant_violations"]);
}

#[test]
fn a_transactional_offset_commit_is_checked_again_after_its_verification() {
    // Randomized seed 10000 (safe, KIP-848): broker 2, the member's transaction
    // coordinator, was paused 5 s while the group coordinator waited for it to
    // verify a TxnOffsetCommit (partition 3 at 3,983). The member check had been
    // made on arrival; by the time the answer came, partition 3 belonged to
    // another member, which had read the old offset (2,425) and committed 2,925:
    // the group's offset went back and 500 outputs repeated. Kafka runs the
    // write, member check included, only after verification: the late commit
    // is now refused with ILLEGAL_GENERATION and its member aborts.
    let s = fixture("seed-10000-commit-checked-after-verification.json");
    assert_eq!(s["invariant_violations"], json!([]), "{}", s["invariant_violations"]);
    assert_eq!(s["eos"]["e0"]["duplicate_outputs"], 0, "{}", s["eos"]);
    assert!(s["group_errors"].to_string().contains("ILLEGAL_GENERATION"), "{}", s["group_errors"]);
}

#[test]
fn a_fetch_answer_from_before_a_rebalance_is_not_used() {
    // Randomized seed 3335 (classic, eager): a fetch from offset 30,805 was in
    // flight when the rebalance took partition t1-0 away and gave it back; the
    // member read its committed offset (30,712) and then took the late answer's
    // records from 30,805 on: 93 inputs were never processed, yet committed
    // past. Kafka discards a fetched partition whose fetch offset is not the
    // position any more (FetchCollector); so does the consumer now.
    let s = fixture("seed-3335-stale-fetch-after-rebalance.json");
    assert_eq!(s["invariant_violations"], json!([]), "{}", s["invariant_violations"]);
    assert_eq!(s["eos"]["e0"]["missing_outputs"], 0, "{}", s["eos"]);
}

#[test]
fn two_members_never_share_a_member_id() {
    // Randomized seed 4937 (KIP-848): broker 1, paused twice, came back as the
    // group's coordinator with an old member counter and gave a new member the
    // id another member already had ("e0-consumer-1"): both processed input
    // partition t1-0 and committed the same 500 outputs twice. Kafka 4's
    // members choose their own id (KIP-1082); they do here too.
    let s = fixture("seed-4937-two-members-one-id.json");
    assert_eq!(s["invariant_violations"], json!([]), "{}", s["invariant_violations"]);
    assert_eq!(s["eos"]["e0"]["duplicate_outputs"], 0, "{}", s["eos"]);
}

#[test]
fn an_at_least_once_commit_forgets_partitions_lost_while_it_waited() {
    // Randomized seed 5215 (KIP-848, at_least_once): a member took its offsets
    // (partition 0 at 12,889) and waited for its producer's flush behind a paused
    // broker; meanwhile it was fenced, lost the partition and got it back at the
    // same member epoch, starting again from the committed 11,889. The flush
    // ended, the generation matched, and 12,889 was committed; the member's next
    // commit (12,389) went back. Now partitions a member loses leave the commit
    // it is waiting to make.
    // Seed 8506 is the same race (partition 0: 1,001 -> 500).
    for name in ["seed-5215-alos-commit-after-rejoin.json", "seed-8506-alos-commit-after-rejoin.json"] {
        let s = fixture(name);
        assert_eq!(s["invariant_violations"], json!([]), "{name}: {}", s["invariant_violations"]);
        assert_eq!(s["eos"]["e0"]["missing_outputs"], 0, "{name}: {}", s["eos"]);
    }
}
