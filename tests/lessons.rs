//! Lessons say what the engine does: for the group lessons (6, 7, 9), every
//! moment a step's text names happens in the run, between that step's time and
//! the previous one's.

use kafka_sim::lesson::{built_in, Lesson};
use kafka_sim::metrics::groups::Rebalance;
use kafka_sim::sim::{Micros, MS};
use kafka_sim::Simulation;

fn lesson(id: &str) -> Lesson {
    built_in().unwrap().into_iter().find(|l| l.id == id).unwrap_or_else(|| panic!("no lesson {id}"))
}

fn at(l: &Lesson, step: usize) -> Micros {
    l.steps[step].at_ms * MS
}

fn run(l: &Lesson, until: Micros) -> Simulation {
    let mut sim = Simulation::new(&l.scenario);
    sim.run_until(until);
    sim
}

fn steps<'a>(r: &'a Rebalance, kind: &str) -> Vec<&'a kafka_sim::metrics::groups::RebalanceStep> {
    r.steps.iter().filter(|s| s.kind == kind).collect()
}

#[test]
fn lesson_6_first_join_member_id_required_then_an_extended_initial_delay() {
    let l = lesson("first-join");
    let sim = run(&l, at(&l, 4));
    let first = &sim.groups()[0].history[0];
    // Step 2: every member's first JoinGroup was answered MEMBER_ID_REQUIRED.
    let required = steps(first, "member_id_required");
    assert_eq!(required.len(), 3, "{first:?}");
    assert!(required.iter().all(|s| s.at_us < at(&l, 1)), "{first:?}");
    // Step 3: the delay was extended once, before that step.
    let extended = steps(first, "initial_delay");
    assert_eq!(extended.len(), 1, "{first:?}");
    assert!((at(&l, 1)..at(&l, 2)).contains(&extended[0].at_us), "{first:?}");
    // Step 4: the join completed between steps 3 and 4; step 5: the group is stable.
    let complete = steps(first, "join_complete");
    assert!((at(&l, 2)..at(&l, 3)).contains(&complete[0].at_us), "{first:?}");
    assert!(first.completed_us.is_some_and(|c| c < at(&l, 4)), "{first:?}");
}

#[test]
fn lesson_7_timeline_shows_the_six_eager_revocations() {
    let l = lesson("eager-vs-cooperative");
    let sim = run(&l, at(&l, 1));
    let r = sim.groups()[0]
        .history
        .iter()
        .find(|r| r.cause == "member_joined")
        .expect("the fourth member's rebalance");
    let revoked: Vec<usize> = steps(r, "revoke").iter().map(|s| s.partitions.len()).collect();
    assert_eq!(revoked, vec![2, 2, 2], "{r:?}");
    assert!(r.completed_us.is_some(), "{r:?}");
}

#[test]
fn lesson_9_slow_consumer_times_match_the_text() {
    let l = lesson("slow-consumer");
    let sim = run(&l, l.scenario.duration_ms * MS);
    let h = &sim.groups()[0].history;
    let started = |cause: &str, n: usize| {
        h.iter()
            .filter(|r| r.cause == cause)
            .nth(n)
            .map(|r| r.started_us)
            .unwrap_or_else(|| panic!("no {cause} #{n}: {h:?}"))
    };
    let near = |t: Micros, ms: u64| t.abs_diff(ms * MS) <= 150 * MS;
    // "at 35.3 s the consumer leaves" (step 3), "polls again (39.4 s) and rejoins" and
    // "at 65.1 s it is removed once more" (step 4).
    assert!(near(started("poll_timeout", 0), 35_300), "{h:?}");
    assert!(started("poll_timeout", 0) < at(&l, 2));
    assert!(near(started("member_joined", 0), 39_400), "{h:?}");
    assert!(started("member_joined", 0) < at(&l, 3));
    assert!(near(started("poll_timeout", 1), 65_100), "{h:?}");
    // "gets partitions back at 45 s": the cooperative follow-up round completes then.
    let back = h
        .iter()
        .filter(|r| r.cause == "member_joined")
        .nth(1)
        .and_then(|r| r.completed_us)
        .expect("second round");
    assert!(near(back, 45_000), "{h:?}");
}

fn summary_at(sim: &mut Simulation, t: Micros) -> serde_json::Value {
    sim.run_until(t);
    let s = kafka_sim::report::summary(sim);
    assert_eq!(s["invariant_violations"], serde_json::json!([]), "{s}");
    s
}

#[test]
fn lesson_15_read_committed_figures_match_the_text() {
    let l = lesson("read-committed");
    let mut sim = Simulation::new(&l.scenario);
    let s = summary_at(&mut sim, at(&l, 1));
    assert_eq!(s["transactions"]["aborted"], 1, "step 2: one abort by 10.5 s");
    let s = summary_at(&mut sim, at(&l, 2));
    assert_eq!(s["transactions"]["aborted"], 3);
    assert_eq!(s["aborted_records_read"]["dashboard"], 479, "step 3 names 479");
    assert_eq!(s["aborted_records_read"]["ledger"], 0);
}

#[test]
fn lesson_16_zombie_is_fenced_when_it_wakes() {
    let l = lesson("zombie-fencing");
    let mut sim = Simulation::new(&l.scenario);
    let s = summary_at(&mut sim, at(&l, 1));
    assert_eq!(s["transactions"]["aborted"], 1, "step 2: the new instance aborted the old one's transaction");
    assert_eq!(s["transactions"]["fenced"], 0);
    let s = summary_at(&mut sim, 20_400 * MS);
    assert_eq!(s["transactions"]["fenced"], 0, "still asleep");
    let s = summary_at(&mut sim, at(&l, 2));
    assert_eq!(s["transactions"]["fenced"], 1, "step 3: fenced once it wakes at 20.5 s");
    assert_eq!(s["aborted_records_read"]["case-management"], 0);
}

#[test]
fn lesson_17_hanging_transaction_times_match_the_text() {
    let l = lesson("hanging-transaction");
    let mut sim = Simulation::new(&l.scenario);
    summary_at(&mut sim, at(&l, 0));
    // Lag counts from the committed offset, committed every 5 s (enable.auto.commit):
    // keeping up at 1,500 records a second is a lag below 7,500.
    assert!(sim.group_lag(0) < 9_000 && sim.group_lag(1) < 9_000, "step 1: both keep up");
    summary_at(&mut sim, at(&l, 1));
    // 30 s of clicks (500/s) since 10.2 s, all past the stuck LSO.
    assert!(sim.group_lag(0) > 14_000, "step 2: trainer falls behind: {}", sim.group_lag(0));
    assert!(sim.group_lag(1) < 9_000, "monitor reads on: {}", sim.group_lag(1));
    let s = summary_at(&mut sim, 79_000 * MS);
    assert_eq!(s["transactions"]["timed_out"], 0, "not before 80 s");
    let s = summary_at(&mut sim, 81_000 * MS);
    assert_eq!(s["transactions"]["timed_out"], 1, "step 3: aborted at 80 s");
    let s = summary_at(&mut sim, at(&l, 2));
    assert!(sim.group_lag(0) < 9_000, "trainer caught up: {}", sim.group_lag(0));
    assert_eq!(s["aborted_records_read"]["monitor"], 100, "step 3 names 100");
    assert_eq!(s["aborted_records_read"]["trainer"], 0);
}

#[test]
fn lesson_14_exactly_once_against_at_least_once_figures_match_the_text() {
    let l = lesson("exactly-once");
    let (b_scenario, _, _) = l.compare.clone().expect("side by side");
    let mut a = Simulation::new(&l.scenario);
    let mut b = Simulation::new(&b_scenario);
    let eos = |s: &serde_json::Value| s["eos"]["fraud-scorer"].clone();
    let (sa, sb) = (summary_at(&mut a, at(&l, 1)), summary_at(&mut b, at(&l, 1)));
    assert_eq!(eos(&sa)["inputs"], 32_844, "step 2 names 32,844");
    assert_eq!(eos(&sb)["inputs"], 0, "step 2: run B committed nothing yet");
    let (sa, sb) = (summary_at(&mut a, at(&l, 3)), summary_at(&mut b, at(&l, 3)));
    assert_eq!(
        (eos(&sa)["duplicate_outputs"].as_u64(), eos(&sa)["missing_outputs"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(eos(&sb)["duplicate_outputs"], 26_580, "step 4 names 26,580");
    assert_eq!(eos(&sb)["missing_outputs"], 0);
    let sa = summary_at(&mut a, at(&l, 4));
    assert_eq!(sa["transactions"]["committed"], 865, "step 5 names 865");
}
