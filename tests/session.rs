//! The session (playback over the engine), natively: rewinding replays the user's
//! actions, the twin gets every action at run A's microsecond, step-to-notable
//! stops at the next event-log entry, acting after a rewind forks, chart markers
//! sit where their actions and rebalances happened, lesson steps come back exactly.

use kafka_sim::scenario::{Action, TimedAction};
use kafka_sim::session::{comparison, markers, rebalance_history, Session};
use kafka_sim::{Scenario, Simulation};

const S: u64 = 1_000_000;

/// Orders with a consumer group, short enough for debug builds.
fn scenario() -> Scenario {
    Scenario::from_json(
        r#"{
        "seed": 7, "duration_ms": 40000,
        "cluster": {"brokers": 3, "controllers": 3},
        "topics": [{"name": "orders", "partitions": 6, "replication_factor": 3, "min_insync_replicas": 2}],
        "producers": [{"id": "checkout", "topic": "orders", "records_per_sec": 2000, "keys": 100, "acks": "all"}],
        "groups": [{"id": "billing", "topics": ["orders"], "members": 3, "assignor": "cooperative-sticky", "records_per_sec_per_member": 1500}]
    }"#,
    )
    .unwrap()
}

fn kill(b: u32) -> Action {
    Action::KillBroker { broker: b }
}

fn restart(b: u32) -> Action {
    Action::RestartBroker { broker: b }
}

fn add_consumer() -> Action {
    Action::AddConsumer { group: "billing".into() }
}

/// Plays to `t`, then acts: the action lands at `t + 1`.
fn act_at(s: &mut Session, t: u64, a: Action) -> u64 {
    s.play_to(t);
    s.act(a).unwrap()
}

/// Plays to the end the way the page does: in slices, a stretch per tick.
fn play_out(s: &mut Session) {
    let mut slices = 0;
    while !s
        .play(250_000, || {
            slices += 1;
            slices % 3 != 0
        })
        .at_end
    {}
}

/// A fresh engine with `actions` queued at their times, run to the end: what the
/// session's run must equal.
fn fresh(scenario: &Scenario, actions: &[TimedAction]) -> Simulation {
    let mut sim = Simulation::new(scenario);
    for a in actions {
        sim.schedule(a.at_us, a.action.clone()).unwrap();
    }
    sim.run_until(sim.end_us());
    sim
}

#[test]
fn rewind_then_play_gives_the_straight_run() {
    let mut straight = Session::new(scenario());
    act_at(&mut straight, 6 * S, kill(1));
    act_at(&mut straight, 12 * S, add_consumer());
    act_at(&mut straight, 20 * S, restart(1));
    play_out(&mut straight);

    let mut s = Session::new(scenario());
    act_at(&mut s, 6 * S, kill(1));
    act_at(&mut s, 12 * S, add_consumer());
    act_at(&mut s, 20 * S, restart(1));
    s.play_to(27 * S);
    // Between the kill and the new consumer, away from any checkpoint's time.
    let t = 9 * S + 123_457;
    assert!(s.rewind(t));
    assert_eq!(s.now_us(), t);
    // The state at t is the straight run's at t.
    let mut at_t = Session::new(scenario());
    act_at(&mut at_t, 6 * S, kill(1));
    at_t.play_to(t);
    assert_eq!(s.sim().fingerprint(), at_t.sim().fingerprint(), "rewinding did not restore the state at t");
    // The actions after t stay on the timeline and happen again.
    assert_eq!(s.actions(), straight.actions());
    play_out(&mut s);
    assert_eq!(s.now_us(), straight.now_us());
    assert_eq!(s.sim().fingerprint(), straight.sim().fingerprint());
    assert_eq!(s.sim().fingerprint(), fresh(&scenario(), straight.actions()).fingerprint());
    // Twice back, once to before every action: the same run again.
    assert!(s.rewind(3 * S));
    assert!(
        s.sim().injected_actions().iter().all(|a| a.at_us > 3 * S),
        "the actions ahead are queued, none done"
    );
    play_out(&mut s);
    assert_eq!(s.sim().fingerprint(), straight.sim().fingerprint());
}

#[test]
fn the_twin_gets_every_action_at_run_a_s_microsecond() {
    let mut s = Session::side_by_side(scenario(), "acks1").unwrap();
    let t1 = act_at(&mut s, 5 * S + 17, kill(0));
    let t2 = act_at(&mut s, 11 * S, add_consumer());
    assert_eq!((t1, t2), (5 * S + 18, 11 * S + 1));
    // One event, and the next notable one: B follows A to the microsecond.
    s.step();
    assert_eq!(s.twin().unwrap().now_us(), s.now_us());
    s.step_notable();
    assert_eq!(s.twin().unwrap().now_us(), s.now_us());
    let t3 = act_at(&mut s, 14 * S, restart(0));
    // And after a rewind and a fork.
    s.play_to(25 * S);
    s.rewind(13 * S);
    assert_eq!(s.twin().unwrap().now_us(), 13 * S);
    let t4 = s.act(Action::HealNetwork {}).unwrap();
    play_out(&mut s);

    let a = s.sim();
    let b = s.twin().unwrap();
    let times: Vec<u64> = a.injected_actions().iter().map(|x| x.at_us).collect();
    assert_eq!(
        times,
        vec![t1, t2, t4],
        "run A's actions (the restart at {t3} was after the rewind point: dropped)"
    );
    assert_eq!(a.injected_actions(), b.injected_actions(), "run B's actions differ from run A's");
    assert_eq!(a.actions(), b.actions());
    assert_eq!(s.actions(), s.twin_actions().unwrap());
    assert_eq!(b.now_us(), a.now_us());
    // B is its own scenario with those actions at those microseconds, from the start.
    let variant = kafka_sim::scenario::draft::variant(&scenario(), "acks1").unwrap();
    assert_eq!(b.fingerprint(), fresh(&variant, b.injected_actions()).fingerprint());
    assert_ne!(a.fingerprint(), b.fingerprint());
}

#[test]
fn step_to_notable_stops_at_the_next_event_log_entry() {
    let mut s = Session::new(scenario());
    act_at(&mut s, 4 * S, kill(2));
    s.play_to(4 * S + 500_000);
    // What happens from here, event by event, in a run left alone.
    let mut reference = s.clone();
    reference.play_to(reference.end_us());
    let log = reference.sim().event_log();
    assert!(log.total as usize == log.entries.len(), "the reference's log rolled over");
    let ahead = log.total - s.sim().event_log().total;
    assert!(ahead >= 3, "only {ahead} notable events after the kill");
    for _ in 0..ahead.min(8) {
        let (t0, before) = (s.now_us(), s.sim().event_log().total);
        if before == log.total {
            break;
        }
        // The same, one event at a time, watching the log.
        let mut manual = s.clone();
        while manual.sim().event_log().total == before {
            assert!(manual.step());
        }
        let entry = s.step_notable().expect("something notable happens after a broker is killed");
        let next = &log.entries[before as usize];
        assert_eq!(entry.at_us, s.now_us());
        assert_eq!(next.at_us, s.now_us(), "stopped at {} but the next entry is at {}", s.now_us(), next.at_us);
        assert!(next.at_us >= t0);
        // Nothing notable in between, and not one event further.
        let new = &s.sim().event_log().entries;
        assert!(new.iter().skip(before as usize).all(|e| e.at_us == s.now_us()));
        assert_eq!(s.sim().fingerprint(), manual.sim().fingerprint(), "ran on past the notable event");
    }
}

#[test]
fn acting_after_a_rewind_forks_a_new_future() {
    let mut s = Session::new(scenario());
    let t_kill = act_at(&mut s, 6 * S, kill(1));
    let t_old = act_at(&mut s, 15 * S, add_consumer());
    s.play_to(22 * S);
    s.rewind(10 * S);
    let t_new = s.act(restart(1)).unwrap();
    assert_eq!(t_new, 10 * S + 1);
    // The old future (the consumer added at 15 s) is gone, the new action is kept.
    let times: Vec<u64> = s.actions().iter().map(|a| a.at_us).collect();
    assert_eq!(times, vec![t_kill, t_new]);
    assert!(
        s.sim().injected_actions().iter().all(|a| a.at_us != t_old),
        "the dropped action is still queued"
    );
    play_out(&mut s);
    // The same as a fresh run with the kept actions, acted live.
    let mut live = Session::new(scenario());
    act_at(&mut live, 6 * S, kill(1));
    act_at(&mut live, 10 * S, restart(1));
    play_out(&mut live);
    assert_eq!(s.sim().fingerprint(), live.sim().fingerprint());
    assert_eq!(s.sim().fingerprint(), fresh(&scenario(), s.actions()).fingerprint());
    // Back again after the fork point: the new future is what plays.
    s.rewind(12 * S);
    play_out(&mut s);
    assert_eq!(s.sim().fingerprint(), live.sim().fingerprint());
}

#[test]
fn rewinding_keeps_the_future_on_the_slider_until_the_user_acts() {
    let mut s = Session::new(scenario());
    act_at(&mut s, 6 * S, kill(1));
    let t_old = act_at(&mut s, 15 * S, add_consumer());
    s.play_to(22 * S);
    assert_eq!(s.horizon(), 22 * S);
    // Scrubbing back and forth: the future stays on the slider and plays the same.
    s.rewind(10 * S);
    assert_eq!((s.now_us(), s.horizon()), (10 * S, 22 * S), "rewinding shortened the slider");
    s.rewind(4 * S);
    assert_eq!(s.horizon(), 22 * S, "a second rewind shortened the slider");
    s.play_to(18 * S);
    assert_eq!(s.horizon(), 22 * S);
    assert!(s.actions().iter().any(|a| a.at_us == t_old), "the run's future lost its action");
    s.rewind(12 * S);
    s.play_to(22 * S);
    let mut straight = Session::new(scenario());
    act_at(&mut straight, 6 * S, kill(1));
    act_at(&mut straight, 15 * S, add_consumer());
    straight.play_to(22 * S);
    assert_eq!(s.sim().fingerprint(), straight.sim().fingerprint(), "the kept future is not the run's");
    // Acting behind the end forks: the old future leaves the slider.
    s.rewind(10 * S);
    s.act(restart(1)).unwrap();
    assert_eq!(s.horizon(), s.now_us(), "the old future stayed on the slider after a fork");
    s.play_to(14 * S);
    assert_eq!(s.horizon(), 14 * S);
}

#[test]
fn acting_after_rewinding_a_shared_run_forks_too() {
    // A link's actions are all queued from the start: no checkpoint is free of them.
    let mut orig = Session::new(scenario());
    act_at(&mut orig, 5 * S, kill(0));
    act_at(&mut orig, 16 * S, restart(0));
    orig.play_to(20 * S);
    let link = orig.share(None);
    let mut s = Session::shared(&link).unwrap();
    assert!(s.seeking());
    while !s.play(S, || true).seek_done {}
    assert_eq!(s.sim().fingerprint(), orig.sim().fingerprint());
    s.rewind(9 * S);
    s.act(add_consumer()).unwrap();
    play_out(&mut s);
    let expected: Vec<TimedAction> = vec![link.actions[0].clone(), s.actions()[1].clone()];
    assert_eq!(s.actions(), &expected[..]);
    assert_eq!(s.sim().fingerprint(), fresh(&scenario(), &expected).fingerprint());
}

#[test]
fn markers_name_the_kill_and_the_rebalances_at_their_times() {
    let mut s = Session::side_by_side(scenario(), "eager").unwrap();
    let t_kill = act_at(&mut s, 8 * S, kill(0));
    s.play_to(30 * S);
    let m = markers(s.sim(), s.twin());
    let kills: Vec<_> = m.iter().filter(|m| m.label == "kill broker").collect();
    assert_eq!(kills.len(), 1, "one kill marker (run B's actions are run A's): {m:?}");
    assert_eq!(kills[0].t_sec, t_kill as f64 / 1e6);
    assert!(!kills[0].rebalance);
    // Each run's first rebalance, at its start time, labelled by run.
    for (sim, label, second) in [(s.sim(), "rebalance billing", false), (s.twin().unwrap(), "B: rebalance billing", true)] {
        let (group, total, history) = rebalance_history(sim).next().unwrap();
        assert_eq!(group, "billing");
        assert!(total >= 1 && !history.is_empty());
        let first = history[0].started_us as f64 / 1e6;
        let at_first: Vec<_> = m.iter().filter(|m| m.t_sec == first && m.label.starts_with(label)).collect();
        assert_eq!(at_first.len(), 1, "no {label:?} marker at {first} s: {m:?}");
        assert!(at_first[0].rebalance);
        assert_eq!(at_first[0].second, second);
    }
    // Rewound to before the kill: the kill (still ahead on the timeline) is not marked.
    s.rewind(6 * S);
    assert!(markers(s.sim(), s.twin()).iter().all(|m| m.label != "kill broker"));
}

#[test]
fn the_comparison_table_counts_each_run() {
    let mut s = Session::side_by_side(scenario(), "acks1").unwrap();
    act_at(&mut s, 6 * S, kill(1));
    s.play_to(20 * S);
    let rows = comparison(s.sim(), s.twin().unwrap());
    assert_eq!(rows.len(), 7);
    for (b, sim) in [(false, s.sim()), (true, s.twin().unwrap())] {
        let cell = |h: &str| {
            let r = rows.iter().find(|r| r.heading == h).unwrap();
            if b {
                r.b.clone()
            } else {
                r.a.clone()
            }
        };
        assert_eq!(cell("acknowledged records"), sim.metrics().total_acked.to_string());
        let rebalances: usize = sim.snapshot().groups.iter().map(|g| g.rebalances).sum();
        assert_eq!(cell("rebalances"), rebalances.to_string());
        assert_eq!(cell("acknowledged records lost"), sim.audit_report().lost.to_string());
    }
    assert!(rows.iter().any(|r| r.differs()), "acks=1 and acks=all runs agree on every number");
}

#[test]
fn lesson_steps_come_back_exactly() {
    let lessons = kafka_sim::lesson::built_in().unwrap();
    // One lesson with a side-by-side comparison, one without.
    let side = lessons.iter().find(|l| l.compare.is_some()).unwrap().clone();
    let alone = lessons.iter().find(|l| l.compare.is_none()).unwrap().clone();
    for lesson in [side, alone] {
        let n = lesson.steps.len();
        let mut s = Session::lesson(lesson.clone(), 0);
        let mut seen = Vec::new();
        for k in 0..n {
            s.go_to_step(k);
            assert_eq!(s.lesson_steps().unwrap().step(), k);
            let t = lesson.steps[k].at_ms * 1000;
            assert_eq!(s.now_us(), t);
            assert_eq!(s.twin().map(|b| b.now_us()), lesson.compare.as_ref().map(|_| t));
            seen.push((s.sim().fingerprint(), s.twin().map(|b| b.fingerprint())));
            // Played on from a step (as "play freely" does), going back still restores it.
            s.play_to(t + 2 * S);
        }
        for k in (0..n).rev() {
            s.go_to_step(k);
            assert_eq!(
                (s.sim().fingerprint(), s.twin().map(|b| b.fingerprint())),
                seen[k],
                "step {k} differs going back"
            );
        }
        // A fresh engine run to the step's time is the same state.
        let mut sim = Simulation::new(&lesson.scenario);
        sim.run_until(lesson.steps[n - 1].at_ms * 1000);
        assert_eq!(sim.fingerprint(), seen[n - 1].0);
    }
}
