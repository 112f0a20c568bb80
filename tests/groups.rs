//! Consumer-group scenarios: each one a rebalance behaviour Kafka documents,
//! checked in the run summary's rebalance history and delivery counts.

use kafka_sim::report::summary;
use kafka_sim::scenario::Action;
use kafka_sim::sim::{MS, SEC};
use kafka_sim::{Scenario, Simulation};
use serde_json::{json, Value};

fn group_scenario(group: Value, duration_ms: u64) -> Scenario {
    let s = json!({
        "seed": 17, "duration_ms": duration_ms, "cluster": {"brokers": 3},
        "topics": [{"name": "orders", "partitions": 12, "replication_factor": 3, "min_insync_replicas": 2}],
        "producers": [{"id": "p", "topic": "orders", "records_per_sec": 3000, "keys": 1000}],
        "groups": [group],
    });
    Scenario::from_json(&s.to_string()).unwrap_or_else(|e| panic!("bad test scenario: {e}"))
}

fn group(extra: Value) -> Value {
    let mut g = json!({"id": "g1", "topics": ["orders"], "members": 3, "auto_offset_reset": "earliest"});
    for (k, v) in extra.as_object().unwrap() {
        g[k] = v.clone();
    }
    g
}

fn act(sim: &mut Simulation, t_ms: u64, action: Action) {
    sim.run_until(t_ms * MS);
    sim.inject(action).expect("valid action");
}

fn finish(mut sim: Simulation) -> Value {
    sim.run_until(sim.end_us());
    let s = summary(&sim);
    assert_eq!(s["invariant_violations"], json!([]), "{s}");
    s
}

/// Rebalances that started at or after `t_ms`.
fn rebalances_after(s: &Value, t_ms: f64) -> Vec<Value> {
    s["rebalances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["started_ms"].as_f64().unwrap() >= t_ms)
        .cloned()
        .collect()
}

fn sum(rs: &[Value], key: &str) -> f64 {
    rs.iter().map(|r| r[key].as_f64().unwrap()).sum()
}

fn member_change(assignor: &str) -> Vec<Value> {
    let mut sim = Simulation::new(&group_scenario(group(json!({"assignor": assignor})), 60_000));
    act(&mut sim, 20_000, Action::AddConsumer { group: "g1".into() });
    let s = finish(sim);
    let rs = rebalances_after(&s, 20_000.0);
    assert!(!rs.is_empty(), "no rebalance after adding a member: {s}");
    assert!(rs.iter().all(|r| r["completed_ms"].is_number()), "{rs:?}");
    rs
}

#[test]
fn cooperative_pauses_only_moved_partitions_and_less_than_eager() {
    let eager = member_change("sticky");
    let coop = member_change("cooperative-sticky");
    // Eager: everything is revoked and paused. Cooperative: only what moves (12 -> 4 members: 3 move).
    assert_eq!(sum(&eager, "revoked_partitions"), 12.0, "{eager:?}");
    assert_eq!(sum(&coop, "revoked_partitions"), 3.0, "{coop:?}");
    assert_eq!(sum(&coop, "moved_partitions"), 3.0, "{coop:?}");
    assert_eq!(
        coop.len(),
        2,
        "cooperative needs a second rebalance to hand over the revoked partitions: {coop:?}"
    );
    let (pe, pc) = (sum(&eager, "paused_partition_ms"), sum(&coop, "paused_partition_ms"));
    assert!(pc > 0.0 && pc < pe, "cooperative paused {pc} partition-ms vs eager {pe}");
}

fn restart(static_membership: bool) -> (Vec<Value>, u64) {
    let mut sim = Simulation::new(&group_scenario(group(json!({"static_membership": static_membership})), 90_000));
    act(&mut sim, 20_000, Action::KillConsumer { group: "g1".into(), member: 1 });
    act(&mut sim, 30_000, Action::RestartConsumer { group: "g1".into(), member: 1 });
    sim.run_until(60 * SEC);
    let lag_at_60s = sim.group_lag(0);
    let s = finish(sim);
    (rebalances_after(&s, 20_000.0), lag_at_60s)
}

#[test]
fn a_static_member_restarting_within_the_session_timeout_causes_no_rebalance() {
    let (stat, lag_static) = restart(true);
    assert_eq!(stat, Vec::<Value>::new());
    let (dynamic, lag_dynamic) = restart(false);
    assert!(dynamic.iter().any(|r| r["cause"] == "member_joined"), "{dynamic:?}");
    // The dynamic rejoin waits for the dead member's session to expire, and the whole
    // (eager) group stops meanwhile: at 60 s it is far behind; the static group is not.
    assert!(lag_static * 3 < lag_dynamic, "lag at 60 s: static {lag_static} vs dynamic {lag_dynamic}");
}

fn clean_stop(static_membership: bool) -> Vec<Value> {
    let mut sim = Simulation::new(&group_scenario(group(json!({"static_membership": static_membership})), 90_000));
    act(&mut sim, 20_000, Action::StopConsumer { group: "g1".into(), member: 2 });
    rebalances_after(&finish(sim), 20_000.0)
}

#[test]
fn a_dynamic_members_clean_stop_rebalances_at_once_a_static_members_does_not() {
    let dynamic = clean_stop(false);
    assert_eq!(dynamic[0]["cause"], "member_left", "{dynamic:?}");
    assert!(dynamic[0]["started_ms"].as_f64().unwrap() < 20_100.0, "{dynamic:?}");
    let stat = clean_stop(true);
    // Only the session timeout removes a static member: 45 s later.
    assert_eq!(stat[0]["cause"], "session_timeout", "{stat:?}");
    assert!(stat[0]["started_ms"].as_f64().unwrap() > 60_000.0, "{stat:?}");
}

#[test]
fn a_crashed_consumer_is_noticed_after_the_session_timeout_and_its_records_redelivered() {
    let mut sim = Simulation::new(&group_scenario(group(json!({"auto_commit_interval_ms": 5000})), 90_000));
    act(&mut sim, 22_500, Action::KillConsumer { group: "g1".into(), member: 0 });
    let s = finish(sim);
    let rs = rebalances_after(&s, 22_500.0);
    assert_eq!(rs[0]["cause"], "session_timeout", "{rs:?}");
    let started = rs[0]["started_ms"].as_f64().unwrap();
    assert!((60_000.0..=70_000.0).contains(&started), "noticed at {started} ms: {rs:?}");
    // What it consumed after its last commit is consumed again by the new owner.
    assert!(s["redelivered"].as_u64().unwrap() > 0, "{s}");
}

#[test]
fn a_poll_loop_stalled_past_max_poll_interval_makes_a_dynamic_member_leave() {
    let mut sim = Simulation::new(&group_scenario(group(json!({"max_poll_interval_ms": 10000})), 60_000));
    act(
        &mut sim,
        20_000,
        Action::PauseConsumer {
            group: "g1".into(),
            member: 1,
            for_ms: 20_000,
        },
    );
    let s = finish(sim);
    let rs = rebalances_after(&s, 20_000.0);
    assert_eq!(rs[0]["cause"], "poll_timeout", "{rs:?}");
    let started = rs[0]["started_ms"].as_f64().unwrap();
    assert!((30_000.0..=34_000.0).contains(&started), "left at {started} ms");
}

#[test]
fn the_group_moves_when_its_coordinators_broker_dies_and_recovers() {
    let mut sim = Simulation::new(&group_scenario(group(json!({})), 90_000));
    sim.run_until(15 * SEC);
    let snap = sim.snapshot();
    let coordinator = snap.groups[0].coordinator.expect("a coordinator hosts the group");
    act(&mut sim, 15_000, Action::KillBroker { broker: coordinator });
    sim.run_until(40 * SEC);
    let consumed_at_40 = sim.groups()[0].consumed;
    let s = finish(sim.clone());
    let snap = sim.snapshot();
    let moved_to = snap.groups[0].coordinator.expect("the group has a coordinator again");
    assert_ne!(moved_to, coordinator, "the coordinator did not move");
    assert!(s["consumed"].as_u64().unwrap() > consumed_at_40 + 100_000, "consumption did not recover: {s}");
    assert!(s["final_lag"]["g1"].as_u64().unwrap() < 30_000, "{s}");
}

#[test]
fn kip848_revokes_fewer_partitions_and_pauses_less_than_classic_eager() {
    // 48 partitions, 6 members, one more joins: eager stops all 48; KIP-848 moves
    // only what the new member takes, each waiting for a heartbeat or two.
    let run = |seed: u64, g: Value| {
        let s = json!({
            "seed": seed, "duration_ms": 60000, "cluster": {"brokers": 3},
            "topics": [{"name": "orders", "partitions": 48, "replication_factor": 3}],
            "producers": [{"id": "p", "topic": "orders", "records_per_sec": 5000, "keys": 1000}],
            "groups": [g],
        });
        let mut sim = Simulation::new(&Scenario::from_json(&s.to_string()).unwrap());
        act(&mut sim, 20_000, Action::AddConsumer { group: "g1".into() });
        let s = finish(sim);
        let rs = rebalances_after(&s, 20_000.0);
        assert!(!rs.is_empty(), "{s}");
        (sum(&rs, "revoked_partitions"), sum(&rs, "paused_partition_ms"), rs)
    };
    let (mut rc, mut pc, mut rk, mut pk) = (0.0, 0.0, 0.0, 0.0);
    for seed in [1, 2, 3] {
        let base = json!({"id": "g1", "topics": ["orders"], "members": 6, "auto_offset_reset": "earliest"});
        let mut classic = base.clone();
        classic["protocol"] = json!("classic");
        classic["assignor"] = json!("range");
        let mut kip = base;
        kip["protocol"] = json!("consumer");
        kip["assignor"] = json!("uniform");
        let c = run(seed, classic);
        let k = run(seed, kip);
        assert!(
            k.2.last().unwrap()["completed_ms"].is_number(),
            "seed {seed}: KIP-848 did not converge: {:?}",
            k.2
        );
        rc += c.0;
        pc += c.1;
        rk += k.0;
        pk += k.1;
    }
    assert_eq!(rc, 3.0 * 48.0, "classic eager revokes everything");
    assert!(rk > 0.0 && rk * 4.0 < rc, "KIP-848 revoked {rk} vs classic {rc}");
    assert!(pk < pc, "KIP-848 paused {pk} partition-ms vs classic {pc}");
    eprintln!("revoked: classic {rc}, KIP-848 {rk}; paused partition-ms: classic {pc:.0}, KIP-848 {pk:.0}");
}

#[test]
fn without_auto_commit_the_application_commits_after_each_poll() {
    let mut sim = Simulation::new(&group_scenario(group(json!({"enable_auto_commit": false})), 30_000));
    sim.run_until(30 * SEC);
    let snap = sim.snapshot();
    let g = &snap.groups[0];
    // Committing every poll keeps committed offsets within one poll of the HW.
    assert!(g.lag < 3_000, "lag {} with per-poll commits", g.lag);
    assert_eq!(g.partition_lag.len(), 12);
    assert_eq!(g.partition_lag.iter().map(|p| p.2).sum::<u64>(), g.lag);
    assert_eq!(summary(&sim)["invariant_violations"], json!([]));
}

/// Regression: a heartbeat answered REBALANCE_IN_PROGRESS for an older
/// generation made a member that had already rejoined start one more rebalance,
/// forever (found with 7 cooperative-sticky members on two topics). Kafka
/// ignores such answers unless the member is still stable in that generation.
#[test]
fn a_stale_heartbeat_answer_does_not_start_rebalances_forever() {
    let s = Scenario::from_json(
        &json!({
            "seed": 1, "duration_ms": 60000, "cluster": {"brokers": 3},
            "topics": [{"name": "a", "partitions": 6, "replication_factor": 3}, {"name": "b", "partitions": 6, "replication_factor": 3}],
            "producers": [{"id": "pa", "topic": "a", "records_per_sec": 1000, "keys": 100}, {"id": "pb", "topic": "b", "records_per_sec": 1000, "keys": 100}],
            "groups": [{"id": "g", "topics": ["a", "b"], "members": 6, "assignor": "cooperative-sticky", "auto_offset_reset": "earliest"}],
            "actions": [{"at_ms": 20000, "action": "add_consumer", "group": "g"}]
        })
        .to_string(),
    )
    .unwrap();
    let mut sim = Simulation::new(&s);
    sim.run_until(60 * SEC);
    let g = &sim.groups()[0];
    // The first join, then the new member's two cooperative rounds: three generations.
    let generations = g.history_base + g.history.len();
    assert!(generations <= 3, "{generations} rebalances in 60 s");
    assert!(g.history.iter().all(|r| r.completed_us.is_some()));
}

#[test]
fn clean_member_changes_with_auto_commit_redeliver_nothing_in_any_protocol() {
    // A member that joins or stops cleanly commits what it processed before its
    // partitions move (revocation commits first and stops fetching them; close()
    // commits before it leaves; the new owner's OffsetFetch waits for a commit
    // still being written). Only a crash may redeliver.
    let kinds = [
        ("eager", json!({"assignor": "range"})),
        ("cooperative", json!({"assignor": "cooperative-sticky"})),
        ("kip848", json!({"protocol": "consumer", "assignor": "uniform"})),
    ];
    for seed in [3, 4, 5] {
        for (name, extra) in &kinds {
            let mut s = group_scenario(group(extra.clone()), 60_000);
            s.seed = seed;
            let mut sim = Simulation::new(&s);
            act(&mut sim, 15_000, Action::AddConsumer { group: "g1".into() });
            act(&mut sim, 32_500, Action::StopConsumer { group: "g1".into(), member: 0 });
            let s = finish(sim);
            let rs = rebalances_after(&s, 15_000.0);
            assert!(
                sum(&rs, "revoked_partitions") + sum(&rs, "moved_partitions") > 0.0,
                "{name} seed {seed}: nothing moved: {rs:?}"
            );
            assert!(s["consumed"].as_u64().unwrap() > 100_000, "{name} seed {seed}: {s}");
            assert_eq!(s["redelivered"], 0, "{name} seed {seed}: {s}");
        }
    }
}

/// Issue 14: a static member that restarts while its group rebalances takes its old
/// member id's place (Kafka's replaceStaticMember), so the join does not wait for the
/// old id's session to expire (45 s) with a second entry for the same instance id.
#[test]
fn a_static_member_restarting_mid_rebalance_takes_its_old_place_and_the_rebalance_finishes_in_seconds() {
    let mut sim = Simulation::new(&group_scenario(group(json!({"static_membership": true})), 90_000));
    act(&mut sim, 20_000, Action::KillConsumer { group: "g1".into(), member: 1 });
    // A new member starts a rebalance the dead member cannot join...
    act(&mut sim, 25_000, Action::AddConsumer { group: "g1".into() });
    // ...and the dead member's process comes back while it is under way.
    act(&mut sim, 26_000, Action::RestartConsumer { group: "g1".into(), member: 1 });
    sim.run_until(sim.end_us());
    let history = &sim.groups()[0].history;
    let rs: Vec<_> = history.iter().filter(|r| r.started_us >= 25_000 * MS).collect();
    assert!(!rs.is_empty(), "{history:?}");
    let took = rs[0].completed_us.unwrap_or(u64::MAX) - rs[0].started_us;
    assert!(took < 5 * SEC, "the rebalance took {} ms: {rs:?}", took / MS);
    // Four members, one entry each, every partition owned.
    let after = &rs.last().unwrap().after;
    assert_eq!(after.len(), 4, "{after:?}");
    assert_eq!(after.values().map(Vec::len).sum::<usize>(), 12, "{after:?}");
    let s = finish(sim);
    assert_eq!(s["invariant_violations"], json!([]), "{s}");
}

/// Issue 14: `group.initial.rebalance.delay.ms` as Kafka's InitialDelayedJoin: the
/// coordinator waits another delay while new members keep coming (within the
/// rebalance timeout), and each dynamic member's first JoinGroup is answered
/// MEMBER_ID_REQUIRED; both are steps of the timeline.
#[test]
fn the_initial_delay_is_extended_while_members_come_and_first_joins_get_member_id_required() {
    let mut sim = Simulation::new(&group_scenario(group(json!({"members": 1})), 30_000));
    act(&mut sim, 2_000, Action::AddConsumer { group: "g1".into() });
    act(&mut sim, 4_500, Action::AddConsumer { group: "g1".into() });
    sim.run_until(sim.end_us());
    let first = &sim.groups()[0].history[0];
    assert_eq!(first.cause, "initial_join", "{first:?}");
    let steps = |kind: &str| first.steps.iter().filter(|s| s.kind == kind).collect::<Vec<_>>();
    // 3 s delay, extended at its end (a member came at 2 s), extended again (4.5 s),
    // then one with nobody new: the join completes 9 s after it started.
    assert_eq!(steps("initial_delay").len(), 2, "{first:?}");
    let took = first.completed_us.expect("completed") - first.started_us;
    // The rebalance starts with the first member's second JoinGroup; its first one,
    // answered MEMBER_ID_REQUIRED, opens the timeline.
    assert_eq!(first.steps[0].kind, "member_id_required", "{first:?}");
    assert!((9 * SEC..9_600 * MS).contains(&took), "completed {} ms after the start: {first:?}", took / MS);
    assert_eq!(first.after.len(), 3, "{first:?}");
    // Every member's first JoinGroup got its id back, and it joined with that id.
    let required = steps("member_id_required");
    assert_eq!(required.len(), 3, "{first:?}");
    for r in &required {
        assert!(
            steps("join").iter().any(|j| j.member == r.member && j.at_us > r.at_us),
            "{r:?} never joined: {first:?}"
        );
    }
    let s = finish(sim);
    assert_eq!(s["invariant_violations"], json!([]), "{s}");
}

/// Issue 14: the heartbeat thread checks `max.poll.interval.ms` every
/// `retry.backoff.ms` (100 ms), not only when it heartbeats (every 3 s).
#[test]
fn max_poll_interval_expiry_is_noticed_within_retry_backoff() {
    for pause_at in [20_000, 20_700, 21_400, 22_100] {
        let mut sim = Simulation::new(&group_scenario(group(json!({"max_poll_interval_ms": 10000})), 45_000));
        sim.run_until(pause_at * MS);
        let last_poll = sim.consumer_last_poll(0, 1);
        act(
            &mut sim,
            pause_at,
            Action::PauseConsumer {
                group: "g1".into(),
                member: 1,
                for_ms: 20_000,
            },
        );
        let s = finish(sim);
        let rs = rebalances_after(&s, pause_at as f64);
        assert_eq!(rs[0]["cause"], "poll_timeout", "{rs:?}");
        let late = rs[0]["started_ms"].as_f64().unwrap() - (last_poll as f64 / 1000.0 + 10_000.0);
        assert!((0.0..=150.0).contains(&late), "pause at {pause_at} ms: noticed {late:.1} ms after the deadline");
    }
}

/// Issue 14: an offset commit whose write cannot be replicated is answered after
/// `offsets.commit.timeout.ms` (5 s), not after 30 s; the client then retries.
#[test]
fn a_commit_that_cannot_be_replicated_fails_after_the_offsets_commit_timeout() {
    let mut sim = Simulation::new(&group_scenario(group(json!({"auto_commit_interval_ms": 1000})), 60_000));
    sim.run_until(15 * SEC);
    let coordinator = sim.snapshot().groups[0].coordinator.expect("a coordinator");
    let follower = (coordinator + 1) % 3;
    act(
        &mut sim,
        20_000,
        Action::PauseBroker {
            broker: follower,
            for_ms: 30_000,
        },
    );
    let errors = |sim: &Simulation| sim.counters().group_errors.get("NOT_COORDINATOR").copied().unwrap_or(0);
    let before = errors(&sim);
    sim.run_until(24_500 * MS);
    assert_eq!(errors(&sim), before, "nothing fails before the timeout");
    sim.run_until(26_500 * MS);
    assert!(errors(&sim) > before, "no commit failed 6.5 s into the stall");
}

#[test]
fn a_member_the_group_removed_unheard_rejoins_without_its_stale_partitions() {
    // Randomized seed 1964: static members behind a controller cut time out on the
    // coordinator without hearing it, then send JoinGroup with their old member id.
    // Kafka answers UNKNOWN_MEMBER_ID; the client drops its partitions
    // (onPartitionsLost) and joins anew. Before, the coordinator gave it a fresh id
    // and kept its stale claim of ownership, and the cooperative assignor handed the
    // partition to another member while it still claimed it (no_double_assignment).
    let s = kafka_sim::Scenario::from_json(r#"{"actions":[{"action":"restart_broker","at_ms":39967,"broker":2},{"action":"partition_network","at_ms":19583,"from":["c0"],"one_way":false,"to":[3,2]},{"action":"restart_consumer","at_ms":24576,"group":"g0","member":0},{"action":"set_topic_config","at_ms":35264,"min_insync_replicas":3,"topic":"t0"},{"action":"heal_network","at_ms":52000},{"action":"restart_broker","at_ms":52000,"broker":0},{"action":"restart_broker","at_ms":52000,"broker":1},{"action":"restart_broker","at_ms":52000,"broker":2},{"action":"restart_broker","at_ms":52000,"broker":3},{"action":"restart_controller","at_ms":52000,"controller":"c0"},{"action":"restart_controller","at_ms":52000,"controller":"c1"},{"action":"restart_controller","at_ms":52000,"controller":"c2"}],"cluster":{"brokers":4,"controllers":3,"eligible_leader_replicas_enable":false,"unclean_leader_election_enable":false},"duration_ms":60000,"groups":[{"assignor":"roundrobin","auto_offset_reset":"latest","enable_auto_commit":true,"id":"g0","max_poll_interval_ms":15000,"members":1,"protocol":"classic","records_per_sec_per_member":3000,"session_timeout_ms":45000,"static_membership":false,"topics":["t1"]},{"assignor":"cooperative-sticky","auto_offset_reset":"latest","enable_auto_commit":true,"id":"g1","max_poll_interval_ms":15000,"members":4,"protocol":"classic","records_per_sec_per_member":50000,"session_timeout_ms":10000,"static_membership":true,"topics":["t1"]}],"producers":[{"acks":"0","id":"p0","keys":10,"linger_ms":20,"records_per_sec":1773,"topic":"t1"},{"acks":"0","id":"p1","keys":1000,"linger_ms":5,"records_per_sec":3065,"topic":"t1"}],"seed":1964,"topics":[{"min_insync_replicas":2,"name":"t0","partitions":3,"replication_factor":3},{"min_insync_replicas":1,"name":"t1","partitions":3,"replication_factor":3}]}"#).expect("valid scenario");
    let mut sim = Simulation::new(&s);
    sim.run_until(sim.end_us());
    let v = kafka_sim::report::summary(&sim);
    assert_eq!(v["invariant_violations"], serde_json::json!([]), "{v}");
    assert!(v["group_errors"]["UNKNOWN_MEMBER_ID"].as_u64().unwrap_or(0) > 0, "{v}");
}

#[test]
fn an_offset_commit_that_timed_out_is_still_applied_and_waited_for() {
    // Randomized seed 8779 (safe): with the only controller dead, the group's
    // __consumer_offsets partition could neither shrink its ISR nor replicate to
    // its dead follower. A leaving member's commit (56,524) sat in the leader's
    // log; after the 5 s offsets.commit.timeout.ms the coordinator stopped
    // treating it as pending, so the new owner's OffsetFetch read 46,000; the
    // record then replicated and was applied, and the new owner committed
    // 50,000 on top: the offset went back. As in Kafka, what the coordinator
    // wrote stays pending (require_stable OffsetFetch waits) until it is
    // replicated or lost, whatever the timed-out client was told.
    let path = format!(
        "{}/tests/fixtures/groups/seed-8779-commit-applied-after-timeout.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let s = Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut sim = Simulation::new(&s);
    sim.run_until(sim.end_us());
    let v = summary(&sim);
    assert_eq!(v["invariant_violations"], json!([]), "{}", v["invariant_violations"]);
}
