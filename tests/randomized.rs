//! Randomized fault injection (TigerBeetle's VOPR style): one seed derives the
//! cluster, the workload and the faults. Every invariant must hold in every
//! run, and with acks=all and clean elections no acknowledged record is lost.
//! A failure prints the seed and the scenario to reproduce it with
//! `kafka-sim run`. `KAFKA_SIM_SEEDS=500 cargo test --release --test randomized` runs more.

use kafka_sim::report::summary;
use kafka_sim::sim::SimRng;
use kafka_sim::{Scenario, Simulation};
use serde_json::{json, Value};

fn pick<'a, T>(rng: &mut SimRng, items: &'a [T]) -> &'a T {
    &items[rng.range(0, items.len() as u64 - 1) as usize]
}

/// A random scenario. `safe`: acks=all everywhere and unclean election never on.
fn random_scenario(seed: u64, safe: bool) -> Value {
    let mut r = SimRng::stream(seed, "randomized-test");
    let brokers = r.range(3, 5) as u32;
    let controllers = *pick(&mut r, &[1u32, 3, 3, 5]);
    let unclean = !safe && r.chance_ppm(300_000);
    let topics: Vec<Value> = (0..r.range(1, 2))
        .map(|i| {
            json!({"name": format!("t{i}"), "partitions": r.range(1, 8), "replication_factor": r.range(2, 3).min(u64::from(brokers)),
                   "min_insync_replicas": r.range(1, 2)})
        })
        .collect();
    let producers: Vec<Value> = (0..r.range(1, 2))
        .map(|i| {
            let acks = if safe { "all" } else { *pick(&mut r, &["0", "1", "all"]) };
            let mut p = json!({"id": format!("p{i}"), "topic": format!("t{}", r.range(0, topics.len() as u64 - 1)),
                               "records_per_sec": r.range(200, 5000), "keys": *pick(&mut r, &[0u64, 10, 1000]), "acks": acks,
                               "linger_ms": *pick(&mut r, &[0u64, 5, 20])});
            if acks == "all" {
                p["enable_idempotence"] = json!(r.chance_ppm(700_000));
            }
            p
        })
        .collect();
    let duration_ms = 60_000;
    let assignors = ["range", "roundrobin", "sticky", "cooperative-sticky"];
    let groups: Vec<Value> = (0..r.range(0, 2))
        .map(|i| {
            let kip848 = r.chance_ppm(300_000);
            let (protocol, assignor) = if kip848 {
                ("consumer", *pick(&mut r, &["uniform", "range"]))
            } else {
                ("classic", *pick(&mut r, &assignors))
            };
            json!({"id": format!("g{i}"), "topics": [format!("t{}", r.range(0, topics.len() as u64 - 1))],
                   "members": r.range(1, 4), "protocol": protocol, "assignor": assignor,
                   "static_membership": r.chance_ppm(300_000), "records_per_sec_per_member": *pick(&mut r, &[300u64, 3000, 50_000]),
                   "enable_auto_commit": r.chance_ppm(800_000), "auto_offset_reset": *pick(&mut r, &["earliest", "latest"]),
                   "session_timeout_ms": *pick(&mut r, &[10_000u64, 45_000]), "max_poll_interval_ms": *pick(&mut r, &[15_000u64, 300_000])})
        })
        .collect();
    let mut actions = Vec::new();
    let node = |r: &mut SimRng| -> Value {
        if r.chance_ppm(250_000) {
            json!(format!("c{}", r.range(0, u64::from(controllers) - 1)))
        } else {
            json!(r.range(0, u64::from(brokers) - 1))
        }
    };
    for _ in 0..r.range(2, 10) {
        let at_ms = r.range(1_000, 50_000);
        let b = r.range(0, u64::from(brokers) - 1);
        if !groups.is_empty() && r.chance_ppm(400_000) {
            let g = &groups[r.range(0, groups.len() as u64 - 1) as usize];
            let (id, m) = (g["id"].clone(), r.range(0, g["members"].as_u64().unwrap() - 1));
            let mut a = match r.range(0, 5) {
                0 => json!({"action": "add_consumer", "group": id}),
                1 => json!({"action": "stop_consumer", "group": id, "member": m}),
                2 => json!({"action": "kill_consumer", "group": id, "member": m}),
                3 => json!({"action": "restart_consumer", "group": id, "member": m}),
                4 => json!({"action": "pause_consumer", "group": id, "member": m, "for_ms": r.range(1_000, 30_000)}),
                _ => json!({"action": "set_consumer_rate", "group": id, "member": m, "records_per_sec": r.range(10, 20_000)}),
            };
            a["at_ms"] = json!(at_ms);
            actions.push(a);
            continue;
        }
        let a = match r.range(0, 13) {
            0 | 1 => json!({"action": "kill_broker", "broker": b}),
            2 | 3 => json!({"action": "restart_broker", "broker": b}),
            4 => json!({"action": "stop_broker", "broker": b}),
            5 => json!({"action": "pause_broker", "broker": b, "for_ms": r.range(100, 15_000)}),
            6 => json!({"action": "slow_broker", "broker": b, "extra_latency_ms": *pick(&mut r, &[0u64, 5, 50])}),
            7 => json!({"action": "slow_disk", "broker": b, "extra_ms": *pick(&mut r, &[0u64, 2, 30])}),
            8 => json!({"action": "partition_network", "from": [node(&mut r)], "to": [node(&mut r), node(&mut r)], "one_way": r.chance_ppm(500_000)}),
            9 => json!({"action": "heal_network"}),
            10 => json!({"action": "kill_controller", "controller": format!("c{}", r.range(0, u64::from(controllers) - 1))}),
            11 => json!({"action": "restart_controller", "controller": format!("c{}", r.range(0, u64::from(controllers) - 1))}),
            12 => json!({"action": "elect_preferred_leaders"}),
            _ if !safe => json!({"action": "set_cluster_config", "unclean_leader_election_enable": r.chance_ppm(500_000)}),
            _ => json!({"action": "heal_network"}),
        };
        let mut a = a;
        a["at_ms"] = json!(at_ms);
        actions.push(a);
    }
    // Heal and restart everything late, so the end state is comparable.
    actions.push(json!({"at_ms": 52_000, "action": "heal_network"}));
    for b in 0..brokers {
        actions.push(json!({"at_ms": 52_000, "action": "restart_broker", "broker": b}));
    }
    for c in 0..controllers {
        actions.push(json!({"at_ms": 52_000, "action": "restart_controller", "controller": format!("c{c}")}));
    }
    json!({"seed": seed, "duration_ms": duration_ms,
           "cluster": {"brokers": brokers, "controllers": controllers, "unclean_leader_election_enable": unclean},
           "topics": topics, "producers": producers, "groups": groups, "actions": actions})
}

fn seeds() -> u64 {
    std::env::var("KAFKA_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(40)
}

fn replay_file(seed: u64, text: &str) -> String {
    let path = format!("{}/randomized-seed-{seed}.json", env!("CARGO_TARGET_TMPDIR"));
    let _ = std::fs::write(&path, text);
    path
}

fn run(seed: u64, safe: bool) -> Value {
    let text = random_scenario(seed, safe).to_string();
    let scenario = Scenario::from_json(&text).unwrap_or_else(|e| panic!("seed {seed}: generated an invalid scenario: {e}\n{text}"));
    let mut sim = Simulation::new(&scenario);
    sim.run_until(sim.end_us());
    let s = summary(&sim);
    if s["invariant_violations"] != json!([]) || (safe && s["acked_lost"] != 0) {
        let path = replay_file(seed, &text);
        panic!("seed {seed} (safe={safe}): invariant violated or acks=all loss; replay with `kafka-sim run {path} --events`\nsummary: {s}");
    }
    s
}

#[test]
fn invariants_hold_under_random_faults() {
    let (mut elections, mut effects) = (0, 0);
    for seed in 0..seeds() {
        let s = run(seed, false);
        assert!(s["loss_reasons"].get("unexplained").is_none(), "seed {seed}: unexplained loss: {s}");
        elections += s["leader_elections"].as_u64().unwrap();
        effects += ["acked_lost", "duplicates", "redelivered", "failed"]
            .iter()
            .map(|k| s[*k].as_u64().unwrap())
            .sum::<u64>();
    }
    // Not a stored value: across the seeds the faults must move leaders and cost
    // something (a loss, a duplicate, a redelivery), or they are too gentle to test anything.
    assert!(elections > 0 && effects > 0, "the faults never bite: {elections} elections, {effects} effects");
}

#[test]
fn acks_all_with_clean_elections_never_loses_acknowledged_records() {
    let mut acked = 0;
    for seed in 1_000..1_000 + seeds() {
        let s = run(seed, true);
        assert_eq!(
            s["acked_lost"],
            0,
            "seed {seed}: acks=all lost acknowledged records: {s}\n{}",
            random_scenario(seed, true)
        );
        let scenario = random_scenario(seed, true);
        let all_idempotent = scenario["producers"].as_array().unwrap().iter().all(|p| p["enable_idempotence"] == true);
        if all_idempotent {
            assert_eq!(s["duplicates"], 0, "seed {seed}: idempotent producers stored duplicates: {s}\n{scenario}");
        }
        acked += s["acked"].as_u64().unwrap();
    }
    assert!(acked > 0);
}
