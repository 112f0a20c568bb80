//! Eligible leader replicas (KIP-966, on by default as in Kafka 4.1+; the switch
//! `cluster.eligible_leader_replicas_enable: false` gives Kafka 4.0), checked
//! through the engine's committed metadata and the run summary, and the ELR
//! lesson's steps checked against what the engine does at their times.

use kafka_sim::eventlog::{ElectionKind, Notable};
use kafka_sim::lesson::Lesson;
use kafka_sim::report::summary;
use kafka_sim::scenario::Action;
use kafka_sim::sim::MS;
use kafka_sim::{Scenario, Simulation};
use serde_json::{json, Value};

fn lesson() -> Lesson {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/lessons/13-eligible-leader-replicas.json")).unwrap();
    Lesson::parse(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// The lesson's scenario: payments-0 on brokers [0, 1, 2] (0 leads), min ISR 2;
/// 2 and then 1 stop cleanly, 0 crashes, then 1, 2 and 0 come back.
fn lesson_runs() -> (Scenario, Scenario) {
    let l = lesson();
    let (off, _, _) = l.compare.expect("the lesson compares ELR on and off");
    assert!(l.scenario.cluster.eligible_leader_replicas_enable);
    assert!(!off.cluster.eligible_leader_replicas_enable);
    (l.scenario, off)
}

/// (leader, ISR, ELR, last known leader) of the only partition at `t_ms`.
type State = (Option<u32>, Vec<u32>, Vec<u32>, Option<u32>);

fn state_at(sim: &mut Simulation, t_ms: u64) -> State {
    sim.run_until(t_ms * MS);
    let p = &sim.snapshot().partitions[0];
    (p.leader, p.isr.clone(), p.elr.clone(), p.last_known_leader)
}

fn finish(sim: &mut Simulation) -> Value {
    sim.run_until(sim.end_us());
    let s = summary(sim);
    assert_eq!(s["invariant_violations"], json!([]), "{s}");
    s
}

fn scenario(v: Value) -> Scenario {
    Scenario::from_json(&v.to_string()).unwrap_or_else(|e| panic!("{e}"))
}

/// The lesson's cluster, with other faults: one partition, RF 3, min ISR 2, acks=all.
fn one_partition(elr: bool, actions: Value) -> Scenario {
    scenario(json!({"seed": 11, "duration_ms": 90000,
        "cluster": {"brokers": 3, "eligible_leader_replicas_enable": elr},
        "topics": [{"name": "payments", "partitions": 1, "replication_factor": 3, "min_insync_replicas": 2}],
        "producers": [{"id": "p1", "topic": "payments", "records_per_sec": 1000, "keys": 100, "acks": "all"}],
        "actions": actions}))
}

#[test]
fn elr_is_on_by_default() {
    let s = scenario(json!({}));
    assert!(s.cluster.eligible_leader_replicas_enable);
}

#[test]
fn the_lesson_steps_match_the_engine() {
    let (on, off) = lesson_runs();
    let steps: Vec<u64> = lesson().steps.iter().map(|s| s.at_ms).collect();
    let (mut a, mut b) = (Simulation::new(&on), Simulation::new(&off));
    let mut at = |t: u64| (state_at(&mut a, t), state_at(&mut b, t));
    // Step 1: broker 0 leads, all three in sync.
    assert_eq!(at(steps[0]), ((Some(0), vec![0, 1, 2], vec![], None), (Some(0), vec![0, 1, 2], vec![], None)));
    // Step 2: broker 2 stopped: the ISR is at min ISR, no ELR.
    assert_eq!(at(steps[1]).0, (Some(0), vec![0, 1], vec![], None));
    // Step 3: broker 1 stopped: below min ISR, broker 1 eligible in run A only.
    let (on3, off3) = at(steps[2]);
    assert_eq!(on3, (Some(0), vec![0], vec![1], None));
    assert_eq!(off3, (Some(0), vec![0], vec![], None));
    // Step 4: broker 0 fenced: an empty ISR with ELR [0, 1] and last known leader 0;
    // without ELR the ISR keeps broker 0.
    let (on4, off4) = at(steps[3]);
    assert_eq!(on4, (None, vec![], vec![0, 1], Some(0)));
    assert_eq!(off4, (None, vec![0], vec![], None));
    // Step 5: broker 1 back: elected from the ELR in run A; run B stays offline.
    let (on5, off5) = at(steps[4]);
    assert_eq!(on5, (Some(1), vec![1], vec![0], None));
    assert_eq!(off5, (None, vec![0], vec![], None));
    // Step 6: broker 2 rejoined: the ISR is at min ISR again and the ELR is cleared.
    let (on6, off6) = at(steps[5]);
    assert_eq!(on6, (Some(1), vec![1, 2], vec![], None));
    assert_eq!(off6.0, None);
    // Step 7: broker 0 back: run B elects it.
    let (on7, off7) = at(steps[6]);
    assert_eq!((on7.0, on7.1.len()), (Some(1), 3));
    assert_eq!(off7.0, Some(0));
    let elr_election = a.event_log().entries.iter().any(|e| {
        matches!(
            &e.what,
            Notable::LeaderChange {
                to: Some(1),
                kind: ElectionKind::Elr,
                ..
            }
        )
    });
    assert!(elr_election, "run A's event log names the election from the ELR");
    let (sa, sb) = (finish(&mut a), finish(&mut b));
    for s in [&sa, &sb] {
        assert_eq!(s["acked_lost"], 0, "{s}");
        assert_eq!(s["unclean_elections"], 0, "{s}");
    }
    let offline = |s: &Value| s["offline_partition_ms"].as_u64().unwrap();
    assert!(offline(&sa) < offline(&sb), "ELR on {} ms offline, off {} ms", offline(&sa), offline(&sb));
}

#[test]
fn the_isr_becomes_empty_only_with_elr() {
    let (on, off) = lesson_runs();
    for (scenario, elr) in [(on, true), (off, false)] {
        let mut sim = Simulation::new(&scenario);
        let mut empty = false;
        while sim.now_us() < sim.end_us() {
            sim.run_until(sim.now_us() + 500 * MS);
            empty |= sim.snapshot().partitions[0].isr.is_empty();
        }
        assert_eq!(empty, elr, "ELR {elr}: the ISR was empty at some point: {empty}");
    }
}

/// Broker 1 crashes (not a controlled shutdown) while the ISR is [0, 1]: fenced,
/// it becomes eligible; then broker 0 crashes: ISR [], ELR [0, 1].
fn two_crashes(then: &[Value]) -> Simulation {
    let mut actions = vec![
        json!({"at_ms": 10000, "action": "stop_broker", "broker": 2}),
        json!({"at_ms": 20000, "action": "kill_broker", "broker": 1}),
        json!({"at_ms": 35000, "action": "kill_broker", "broker": 0}),
    ];
    actions.extend(then.iter().cloned());
    Simulation::new(&one_partition(true, json!(actions)))
}

fn restart(at_ms: u64, broker: u32) -> Value {
    json!({"at_ms": at_ms, "action": "restart_broker", "broker": broker})
}

#[test]
fn a_broker_back_from_an_unclean_shutdown_leaves_the_elr_and_may_not_lead() {
    let mut sim = two_crashes(&[restart(50_000, 1)]);
    assert_eq!(state_at(&mut sim, 48_000), (None, vec![], vec![0, 1], Some(0)));
    // Broker 1 crashed: on registering it leaves the ELR, and the partition stays offline
    // (after a clean stop it would have been elected, as in the lesson).
    assert_eq!(state_at(&mut sim, 60_000), (None, vec![], vec![0], Some(0)));
    let s = finish(&mut sim);
    assert_eq!(s["acked_lost"], 0, "{s}");
}

#[test]
fn the_last_known_leader_is_elected_when_isr_and_elr_are_empty() {
    let mut sim = two_crashes(&[restart(50_000, 1), restart(60_000, 0)]);
    // Broker 0 crashed too: it leaves the ELR when it registers; ISR and ELR are
    // empty, and once unfenced it is elected as the last known leader.
    let (leader, isr, elr, _) = state_at(&mut sim, 70_000);
    assert_eq!((leader, elr), (Some(0), vec![]));
    assert!(isr.contains(&0));
    let kinds: Vec<ElectionKind> = sim
        .event_log()
        .entries
        .iter()
        .filter_map(|e| match &e.what {
            Notable::LeaderChange { to: Some(0), kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    assert!(kinds.contains(&ElectionKind::LastKnownLeader), "{kinds:?}");
    let s = finish(&mut sim);
    // Kafka counts it as unclean; it still lost nothing, since broker 0 was the last leader.
    assert_eq!(s["unclean_elections"], 1, "{s}");
    assert_eq!(s["acked_lost"], 0, "{s}");
}

#[test]
fn changing_min_insync_replicas_clears_the_elr() {
    let (on, _) = lesson_runs();
    let mut sim = Simulation::new(&on);
    assert_eq!(state_at(&mut sim, 25_000).2, vec![1]);
    sim.inject(Action::SetTopicConfig {
        topic: "payments".into(),
        min_insync_replicas: 1,
    })
    .unwrap();
    let (leader, isr, elr, lke) = state_at(&mut sim, 26_000);
    assert_eq!((leader, isr, elr, lke), (Some(0), vec![0], vec![], None));
    // With min ISR 1 broker 0 alone commits again: the HW moves.
    let hw = |sim: &Simulation| sim.snapshot().partitions[0].replicas[0].hw;
    let before = hw(&sim);
    sim.run_until(28_000 * MS);
    assert!(hw(&sim) > before);
    finish(&mut sim);
}

/// The HW rule ELR relies on: below min ISR it does not move, even while a
/// follower that caught up waits for the controller to add it to the ISR.
#[test]
fn the_hw_waits_for_the_controller_to_commit_an_isr_expansion() {
    let (on, _) = lesson_runs();
    let mut sim = Simulation::new(&on);
    // Broker 1 leads alone from about 47 s; broker 2 restarts at 55 s and catches up.
    sim.run_until(50_000 * MS);
    let mut frozen = None;
    while sim.now_us() < 60_000 * MS {
        sim.step();
        let p = &sim.snapshot().partitions[0];
        if p.isr.len() < 2 {
            let hw = p.replicas.iter().find(|r| Some(r.broker) == p.leader).map(|r| r.hw);
            assert!(frozen.is_none() || frozen == hw, "the HW moved with ISR {:?}", p.isr);
            frozen = hw;
        }
    }
    finish(&mut sim);
}

fn built_in(id: &str) -> Lesson {
    kafka_sim::lesson::built_in().unwrap().into_iter().find(|l| l.id == id).unwrap()
}

/// (leader, ISR, ELR) of `topic-partition` now.
fn part(sim: &Simulation, name: &str) -> (Option<u32>, Vec<u32>, Vec<u32>) {
    let snap = sim.snapshot();
    let p = snap.partitions.iter().find(|p| format!("{}-{}", p.topic, p.partition) == name).unwrap();
    (p.leader, p.isr.clone(), p.elr.clone())
}

/// Lesson 2: below min ISR, payments-1 keeps brokers 0 and 1 as eligible leader
/// replicas; after the heal, followers rejoin once they reach the leader's HW,
/// about 70 s, every ISR full again by the last step.
#[test]
fn lesson_2_says_what_the_engine_does() {
    let l = built_in("replication-isr-hw");
    let mut sim = Simulation::new(&l.scenario);
    sim.run_until(l.steps[3].at_ms * MS);
    assert_eq!(part(&sim, "payments-1"), (Some(2), vec![2], vec![0, 1]));
    sim.run_until(l.steps[4].at_ms * MS);
    for p in &sim.snapshot().partitions {
        assert_eq!((p.isr.len(), p.elr.len()), (3, 0), "{}-{} at the last step", p.topic, p.partition);
    }
    // The rejoins after the heal at 55 s: about 70 s.
    let rejoins: Vec<u64> = sim
        .event_log()
        .entries
        .iter()
        .filter(|e| matches!(&e.what, Notable::IsrChange { from, to, .. } if to.len() > from.len()) && e.at_us > 55_000 * MS)
        .map(|e| e.at_us / MS)
        .collect();
    assert!(!rejoins.is_empty() && rejoins.iter().all(|&t| (60_000..=72_000).contains(&t)), "{rejoins:?}");
}

/// Lesson 5, step 3: events-0 and events-2 are offline with an empty ISR and
/// broker 1 (their last ISR member) as an eligible leader replica.
#[test]
fn lesson_5_says_what_the_engine_does() {
    let l = built_in("leader-election");
    let mut sim = Simulation::new(&l.scenario);
    sim.run_until(l.steps[2].at_ms * MS);
    for name in ["events-0", "events-2"] {
        assert_eq!(part(&sim, name), (None, vec![], vec![1]), "{name}");
    }
}

/// The same as `a_broker_back_from_an_unclean_shutdown_leaves_the_elr_and_may_not_lead`
/// but broker 1 stops cleanly: it stays eligible and is elected when it is back.
#[test]
fn a_broker_back_from_a_clean_shutdown_is_elected_from_the_elr() {
    let actions = json!([
        {"at_ms": 10000, "action": "stop_broker", "broker": 2},
        {"at_ms": 20000, "action": "stop_broker", "broker": 1},
        {"at_ms": 35000, "action": "kill_broker", "broker": 0},
        restart(50_000, 1),
    ]);
    let mut on = Simulation::new(&one_partition(true, actions.clone()));
    assert_eq!(state_at(&mut on, 48_000), (None, vec![], vec![0, 1], Some(0)));
    assert_eq!(state_at(&mut on, 60_000), (Some(1), vec![1], vec![0], None));
    let s = finish(&mut on);
    assert_eq!((s["acked_lost"].clone(), s["unclean_elections"].clone()), (json!(0), json!(0)), "{s}");
    // Kafka 4.0: broker 0 is the whole ISR and down, so the partition stays offline.
    let mut off = Simulation::new(&one_partition(false, actions));
    assert_eq!(state_at(&mut off, 60_000), (None, vec![0], vec![], None));
    let s_off = finish(&mut off);
    let offline = |s: &Value| s["offline_partition_ms"].as_u64().unwrap();
    assert!(
        offline(&s) + 30_000 < offline(&s_off),
        "ELR on {} ms offline, off {} ms",
        offline(&s),
        offline(&s_off)
    );
}
