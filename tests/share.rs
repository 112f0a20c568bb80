//! Share groups (KIP-932): members outnumbering partitions all consume; a poison
//! record is archived after the delivery count limit; a killed member's records
//! come back when their acquisition locks expire (a stopped member's at once); a
//! share-partition leader's failover hands out again only what was in flight;
//! share consumers count in `consumed`.

use kafka_sim::metrics::groups::ShareReport;
use kafka_sim::report::summary;
use kafka_sim::scenario::{Action, ScenarioError};
use kafka_sim::sim::{Micros, MS};
use kafka_sim::{Scenario, Simulation};
use serde_json::{json, Value};

fn scenario(v: Value) -> Scenario {
    Scenario::from_json(&v.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// One topic, one producer, one share group.
fn base(partitions: u32, producer: Value, group: Value) -> Value {
    let mut p = json!({"id": "p", "topic": "jobs", "records_per_sec": 400});
    for (k, v) in producer.as_object().unwrap() {
        p[k] = v.clone();
    }
    let mut g = json!({"id": "workers", "topics": ["jobs"], "protocol": "share", "members": 2, "records_per_sec_per_member": 150});
    for (k, v) in group.as_object().unwrap() {
        g[k] = v.clone();
    }
    json!({"seed": 5, "duration_ms": 60000,
           "topics": [{"name": "jobs", "partitions": partitions, "replication_factor": 3, "min_insync_replicas": 2}],
           "producers": [p], "groups": [g]})
}

fn share(sim: &Simulation) -> &ShareReport {
    sim.groups()[0].share.as_ref().expect("a share group")
}

fn run(s: &Scenario) -> (Simulation, Value) {
    let mut sim = Simulation::new(s);
    sim.run_until(sim.end_us());
    let v = summary(&sim);
    assert_eq!(v["invariant_violations"], json!([]), "{v}");
    (sim, v)
}

#[test]
fn members_outnumbering_partitions_all_consume() {
    let (sim, v) = run(&scenario(base(2, json!({}), json!({"members": 5}))));
    let s = &v["share"]["workers"];
    assert_eq!(s["members_consuming"], 5, "{s}");
    // Everyone gets a real share of the work, not a trickle.
    for m in 0..5 {
        let n = s["consumed_per_member"][m.to_string()].as_u64().unwrap();
        assert!(n > 2_000, "member {m} consumed only {n}: {s}");
    }
    // Nothing poisoned, nothing failed: every record once, all acknowledged but the last poll's.
    assert_eq!(s["redelivered"], 0, "{s}");
    assert!(s["acknowledged"].as_u64().unwrap() + 1_000 > v["acked"].as_u64().unwrap(), "{v}");
    // The five members share two partitions: desiredSharing = ceil(5/2) = 3 and 2.
    let last = sim.groups()[0].history.last().unwrap();
    let sharers = |p: u32| last.after.values().filter(|ps| ps.contains(&p)).count();
    assert_eq!((sharers(0), sharers(1)), (3, 3), "{:?}", last.after);
}

#[test]
fn a_poison_record_is_archived_after_the_delivery_count_limit() {
    // Members fast enough to keep up: a poison record's five deliveries take a few polls.
    let fast = json!({"records_per_sec_per_member": 1000});
    let (sim, v) = run(&scenario(base(2, json!({"poison_per_mille": 10}), fast.clone())));
    let s = share(&sim);
    let by = &s.by_delivery_count;
    // Delivered 5 times, never a 6th: the 5th RELEASE archives it.
    assert_eq!(by.len(), 6, "deliveries by count: {by:?}");
    assert!(s.archived > 150, "{v}");
    assert!(by[5] >= s.archived && by[5] <= s.archived + 10, "{by:?} archived {}", s.archived);
    // Each poison record came back four times (a few may be mid-way at the end).
    for k in 2..=5 {
        assert!(by[k] <= by[2] && by[2] - by[k] <= 10, "{by:?}");
    }
    assert_eq!(s.redelivered, by[2] + by[3] + by[4] + by[5]);
    assert_eq!(v["share"]["workers"]["archived"], s.archived);

    // The limit is the group's setting.
    let mut limit3 = fast;
    limit3["share_delivery_count_limit"] = json!(3);
    let (sim, _) = run(&scenario(base(2, json!({"poison_per_mille": 10}), limit3)));
    let s = share(&sim);
    assert_eq!(s.by_delivery_count.len(), 4, "{:?}", s.by_delivery_count);
    assert!(s.archived > 150);
}

/// Member 0 of a group sharing one partition, killed (or stopped) at 20 s while it
/// holds records: by each time, (deliveries with a delivery count above 1, records
/// handed to an application a second time). Batches of
/// about 40 records (linger.ms 100) and `max.poll.records` 10: a fetch acquires a
/// whole batch (Kafka's batch-optimized acquisition), a poll hands out 10, so a
/// member holds records it has not handed to the application yet.
fn redelivered_after(stop: bool, checks: &[Micros]) -> Vec<(u64, u64)> {
    let s = scenario(base(1, json!({"linger_ms": 100}), json!({"max_poll_records": 10})));
    let mut sim = Simulation::new(&s);
    let (group, member) = ("workers".to_string(), 0);
    let a = if stop {
        Action::StopConsumer { group, member }
    } else {
        Action::KillConsumer { group, member }
    };
    sim.schedule(20_000 * MS, a).unwrap();
    checks
        .iter()
        .map(|&t| {
            sim.run_until(t);
            assert!(sim.invariants().violations.is_empty(), "{:?}", sim.invariants().violations);
            let s = share(&sim);
            (s.by_delivery_count.iter().skip(2).sum(), s.redelivered)
        })
        .collect()
}

#[test]
fn a_killed_members_records_come_back_when_their_locks_expire() {
    // group.share.record.lock.duration.ms is 30 s. The member took its records
    // at most a few polls (well under a second) before it died.
    let lock = 30_000 * MS;
    let got = redelivered_after(false, &[20_000 * MS, 20_000 * MS + lock - 4_000 * MS, 20_000 * MS + lock + 2_000 * MS]);
    assert_eq!(got[0], (0, 0));
    assert_eq!(got[1], (0, 0), "redelivered before the locks expired: {got:?}");
    // Everything it held comes back with delivery count 2; the 10 its last poll
    // handed to its application were never acknowledged: processed twice.
    assert!(got[2].0 >= 10 && got[2].1 >= 10, "the dead member's records never came back: {got:?}");
    // A clean close acknowledges what the last poll returned (implicit mode) and
    // ends the share sessions: what it held and never handed out comes back at once.
    let got = redelivered_after(true, &[20_000 * MS, 21_000 * MS]);
    assert_eq!(got[0], (0, 0));
    assert!(got[1].0 > 10, "a stopped member's records did not come back at once: {got:?}");
    assert_eq!(got[1].1, 0, "close() acknowledged the last poll: nothing is processed twice: {got:?}");
}

#[test]
fn a_share_partition_leader_failover_hands_out_again_only_what_was_in_flight() {
    // earliest: a new leader that knew nothing would start again from offset 0.
    let s = scenario(base(2, json!({}), json!({"members": 3, "auto_offset_reset": "earliest"})));
    let mut sim = Simulation::new(&s);
    let leader = sim.cluster().part(0).assignment[0];
    sim.schedule(20_000 * MS, Action::KillBroker { broker: leader }).unwrap();
    sim.run_until(19_999 * MS);
    let (redelivered_before, consumed_before) = (share(&sim).redelivered, sim.groups()[0].consumed);
    assert_eq!(redelivered_before, 0);
    // The controller fences the dead broker after its session (9 s) and elects a new leader.
    sim.run_until(40_000 * MS);
    let redelivered = share(&sim).redelivered;
    assert!(sim.invariants().violations.is_empty(), "{:?}", sim.invariants().violations);
    // Before the 30 s locks could expire (at 50 s), what the dead leader had handed
    // out came back from the new one; what was acknowledged stayed acknowledged.
    assert!(redelivered > 0, "nothing came back after the failover");
    assert!(
        redelivered < 1_500,
        "the new leader handed out {redelivered} records again: it forgot what was acknowledged"
    );
    // Both partitions are consumed again, and the backlog of the outage shrinks
    // (the members have 50 records/s to spare: 3,104 -> 2,080 in the last 20 s).
    assert!(sim.groups()[0].consumed > consumed_before + 6_000);
    let lag_after_failover = sim.group_lag(0);
    sim.run_until(sim.end_us());
    let v = summary(&sim);
    assert_eq!(v["invariant_violations"], json!([]), "{v}");
    let lag = v["final_lag"]["workers"].as_u64().unwrap();
    assert!(lag + 500 < lag_after_failover, "the backlog did not shrink: {lag_after_failover} -> {lag}: {v}");
}

#[test]
fn share_consumers_count_in_consumed() {
    let mut v = base(2, json!({}), json!({}));
    v["groups"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "audit", "topics": ["jobs"], "auto_offset_reset": "earliest"}));
    let (sim, v) = run(&scenario(v));
    let shared = v["share"]["workers"]["delivered"].as_u64().unwrap();
    let classic = sim.groups()[1].consumed;
    assert!(shared > 10_000 && classic > 10_000, "{v}");
    assert_eq!(v["consumed"].as_u64().unwrap(), shared + classic);
    assert!(v["share"].get("audit").is_none());
}

#[test]
fn the_same_seed_gives_the_same_share_run() {
    let s = scenario(base(2, json!({"poison_per_mille": 10}), json!({"members": 3})));
    assert_eq!(run(&s).1["fingerprint"], run(&s).1["fingerprint"]);
}

#[test]
fn bad_share_settings_are_one_clear_error() {
    let e = |producer: Value, group: Value| Scenario::from_json(&base(1, producer, group).to_string()).unwrap_err();
    assert!(matches!(
        e(json!({}), json!({"protocol": "classic", "share_record_lock_duration_ms": 5000})),
        ScenarioError::ShareFieldNeedsShare {
            field: "share_record_lock_duration_ms",
            ..
        }
    ));
    assert!(matches!(
        e(json!({}), json!({"share_delivery_count_limit": 11})),
        ScenarioError::ShareSettings { delivery_count_limit: 11, .. }
    ));
    assert!(matches!(
        e(json!({}), json!({"static_membership": true})),
        ScenarioError::NotForShareGroups {
            field: "static_membership",
            ..
        }
    ));
    assert!(matches!(e(json!({}), json!({"assignor": "range"})), ScenarioError::Assignor { .. }));
    let poison = e(json!({"poison_per_mille": 1001}), json!({}));
    assert_eq!(poison.to_string(), "producer p: poison_per_mille must be at most 1000 (got 1001)");
}

/// The share-group lesson says what the engine does, at each step's time.
#[test]
fn the_share_group_lesson_matches_the_engine() {
    let l = kafka_sim::lesson::built_in()
        .unwrap()
        .into_iter()
        .find(|l| l.id == "share-group-poison")
        .expect("the lesson is built in");
    let at = |i: usize| l.steps[i].at_ms * MS;
    let mut sim = Simulation::new(&l.scenario);
    // Step 1: two workers at 300 a second against 500: lag grows about 200 a second.
    sim.run_until(at(0));
    let lag10 = sim.group_lag(0);
    assert!((1_000..3_000).contains(&lag10), "lag at 10 s: {lag10}");
    sim.run_until(29_900 * MS);
    let lag30 = sim.group_lag(0);
    assert!((6_000..10_000).contains(&lag30), "lag before the four join: {lag30}");
    // Step 2: six members, each partition shared by three, all consuming.
    sim.run_until(at(1));
    let last = sim.groups()[0].history.last().unwrap();
    assert_eq!(last.after.len(), 6);
    assert!(last.after.values().all(|ps| ps.len() == 1), "{:?}", last.after);
    // Step 3: the backlog is gone within 20 s of the join.
    sim.run_until(at(2));
    assert!(sim.group_lag(0) < 1_000, "lag at 50 s: {}", sim.group_lag(0));
    // Step 4: about 40 poison records, each delivered five times, then archived.
    sim.run_until(at(3));
    let s = share(&sim);
    assert_eq!(s.per_member.values().filter(|n| **n > 0).count(), 6);
    assert!((30..=50).contains(&s.archived), "archived {}", s.archived);
    assert_eq!(s.by_delivery_count.len(), 6, "{:?}", s.by_delivery_count);
    assert!(
        s.redelivered >= 4 * s.archived && s.redelivered <= 4 * s.archived + 20,
        "redelivered {} archived {}",
        s.redelivered,
        s.archived
    );
    assert!(sim.invariants().violations.is_empty(), "{:?}", sim.invariants().violations);
}
