//! Benchmark of the sticky assignors on a large group: 50 topics x 40 partitions, 200
//! members all subscribed, with prior ownership from a previous sticky assignment in which
//! 10 members have since been replaced. Also times the general (heterogeneous) path, the
//! server-side uniform assignor and the JSON path on the same group.
//!
//! Run with `cargo run --release --example sticky_bench`. It reports, it does not assert.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kafka_sim::assignors::{assign, assign_json, assign_server, Member, ServerStrategy, Strategy};

const ITERATIONS: usize = 50;

fn time<T>(label: &str, mut f: impl FnMut() -> T) {
    let mut samples: Vec<Duration> = (0..ITERATIONS)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    samples.sort();
    println!(
        "{label:<58} min {:>8.3} ms   median {:>8.3} ms   max {:>8.3} ms",
        samples[0].as_secs_f64() * 1e3,
        samples[ITERATIONS / 2].as_secs_f64() * 1e3,
        samples[ITERATIONS - 1].as_secs_f64() * 1e3,
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let topics: BTreeMap<String, u32> = (0..50).map(|i| (format!("topic-{i:02}"), 40)).collect();
    let names: Vec<&str> = topics.keys().map(String::as_str).collect();
    let initial: Vec<Member> = (0..200).map(|i| Member::new(format!("consumer-{i:03}"), &names)).collect();

    let prior = assign(Strategy::Sticky, &topics, &initial)?;
    // Ten members leave and ten new ones join; the rest report what they own.
    let mut members: Vec<Member> = initial
        .iter()
        .filter(|m| !m.member_id.ends_with('7') || m.member_id.as_str() >= "consumer-100")
        .map(|m| m.clone().with_owned(prior[&m.member_id].clone(), 1))
        .collect();
    assert_eq!(members.len(), 190);
    members.extend((0..10).map(|i| Member::new(format!("new-{i}"), &names)));

    let mut heterogeneous = members.clone();
    heterogeneous[0].topics.pop();

    // A harder general-path case: every third member on the first 20 topics only, with
    // ownership from a previous assignment of that shape and then 10 members replaced.
    let mixed_initial: Vec<Member> = initial
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if i % 3 == 0 {
                Member::new(m.member_id.clone(), &names[..20])
            } else {
                m.clone()
            }
        })
        .collect();
    let mixed_prior = assign(Strategy::Sticky, &topics, &mixed_initial)?;
    let mut mixed: Vec<Member> = mixed_initial
        .iter()
        .filter(|m| !m.member_id.ends_with('7') || m.member_id.as_str() >= "consumer-100")
        .map(|m| m.clone().with_owned(mixed_prior[&m.member_id].clone(), 1))
        .collect();
    mixed.extend((0..10).map(|i| Member::new(format!("new-{i}"), &names)));

    let input = serde_json::json!({
        "topics": topics,
        "members": members.iter().map(|m| serde_json::json!({
            "member_id": m.member_id, "topics": m.topics, "owned": m.owned, "generation": m.generation,
        })).collect::<Vec<_>>(),
    })
    .to_string();

    let result = assign(Strategy::Sticky, &topics, &members)?;
    let moved: usize = members
        .iter()
        .map(|m| {
            let now = &result[&m.member_id];
            m.owned
                .iter()
                .map(|(t, ps)| ps.iter().filter(|p| !now.get(t).is_some_and(|n| n.contains(p))).count())
                .sum::<usize>()
        })
        .sum();
    println!("2000 partitions, 200 members (190 with prior ownership, 10 new); {moved} owned partitions moved\n");

    time("sticky (constrained path)", || assign(Strategy::Sticky, &topics, &members));
    time("cooperative-sticky (constrained path)", || {
        assign(Strategy::CooperativeSticky, &topics, &members)
    });
    time("sticky (general path: one member on 49 topics)", || {
        assign(Strategy::Sticky, &topics, &heterogeneous)
    });
    time("cooperative-sticky (general path)", || {
        assign(Strategy::CooperativeSticky, &topics, &heterogeneous)
    });
    time("sticky (general path: mixed subscriptions, 10 replaced)", || {
        assign(Strategy::Sticky, &topics, &mixed)
    });
    time("sticky (general path: mixed, from scratch)", || {
        assign(Strategy::Sticky, &topics, &mixed_initial)
    });
    time("sticky from scratch (no ownership)", || assign(Strategy::Sticky, &topics, &initial));
    time("server uniform (homogeneous)", || assign_server(ServerStrategy::Uniform, &topics, &members));
    time("server uniform (heterogeneous)", || {
        assign_server(ServerStrategy::Uniform, &topics, &heterogeneous)
    });
    time("server range", || assign_server(ServerStrategy::Range, &topics, &members));
    time("assign_json sticky (parse + assign + render)", || assign_json("sticky", &input));
    Ok(())
}
