//! The random scenario generator of the randomized fault test (TigerBeetle's VOPR
//! style: one seed derives the cluster, the workload and the faults), shared with
//! `examples/fingerprints.rs`, which prints the fingerprints of many seeds so two
//! builds can be compared run for run.

use kafka_sim::sim::SimRng;
use serde_json::{json, Value};

fn pick<'a, T>(rng: &mut SimRng, items: &'a [T]) -> &'a T {
    &items[rng.range(0, items.len() as u64 - 1) as usize]
}

/// A random scenario. `safe`: acks=all everywhere and unclean election never on.
pub fn random_scenario(seed: u64, safe: bool) -> Value {
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
    // Eligible leader replicas on (Kafka 4.1+) or off (4.0), and now and then an
    // operator changing min.insync.replicas (which clears the ELR), drawn from a
    // stream of their own so the rest of each seed's scenario stays as it was.
    let mut e = SimRng::stream(seed, "randomized-elr");
    let elr = e.chance_ppm(500_000);
    if e.chance_ppm(250_000) {
        let topic = format!("t{}", e.range(0, topics.len() as u64 - 1));
        actions.push(json!({"at_ms": e.range(1_000, 50_000), "action": "set_topic_config", "topic": topic, "min_insync_replicas": e.range(1, 3)}));
    }
    // Now and then a share group (KIP-932), with poison records and its members'
    // faults, drawn from a stream of its own: every other seed's scenario stays as it was.
    let (mut groups, mut producers) = (groups, producers);
    let mut sh = SimRng::stream(seed, "randomized-share");
    if sh.chance_ppm(250_000) {
        let topic = format!("t{}", sh.range(0, topics.len() as u64 - 1));
        let members = sh.range(1, 6);
        let mut g = json!({"id": "s0", "topics": [topic], "protocol": "share", "members": members,
                           "records_per_sec_per_member": *pick(&mut sh, &[300u64, 3000]),
                           "auto_offset_reset": *pick(&mut sh, &["earliest", "latest"])});
        if sh.chance_ppm(500_000) {
            g["share_record_lock_duration_ms"] = json!(*pick(&mut sh, &[3_000u64, 15_000]));
        }
        if sh.chance_ppm(500_000) {
            g["share_delivery_count_limit"] = json!(sh.range(2, 5));
        }
        if sh.chance_ppm(300_000) {
            g["share_partition_max_record_locks"] = json!(*pick(&mut sh, &[100u64, 500]));
        }
        if sh.chance_ppm(500_000) {
            producers[0]["poison_per_mille"] = json!(*pick(&mut sh, &[1u64, 20, 200]));
        }
        for _ in 0..sh.range(0, 4) {
            let m = sh.range(0, members - 1);
            let mut a = match sh.range(0, 4) {
                0 => json!({"action": "add_consumer", "group": "s0"}),
                1 => json!({"action": "stop_consumer", "group": "s0", "member": m}),
                2 => json!({"action": "kill_consumer", "group": "s0", "member": m}),
                3 => json!({"action": "restart_consumer", "group": "s0", "member": m}),
                _ => json!({"action": "pause_consumer", "group": "s0", "member": m, "for_ms": sh.range(1_000, 40_000)}),
            };
            a["at_ms"] = json!(sh.range(1_000, 50_000));
            actions.push(a);
        }
        groups.push(g);
    }
    // Now and then a transactional producer (and read_committed groups), with
    // aborts, a dead or paused producer, a new instance fencing the old one, drawn
    // from a stream of its own: every other seed's scenario stays as it was.
    let mut tx = SimRng::stream(seed, "randomized-transactions");
    if tx.chance_ppm(250_000) {
        let p = &mut producers[0];
        p["transactional_id"] = json!("tx0");
        p["acks"] = json!("all");
        p["enable_idempotence"] = json!(true);
        p["transaction_ms"] = json!(*pick(&mut tx, &[20u64, 100, 500]));
        p["transaction_timeout_ms"] = json!(*pick(&mut tx, &[5_000u64, 60_000]));
        for g in groups.iter_mut().filter(|g| g["protocol"] != "share") {
            if tx.chance_ppm(600_000) {
                g["isolation_level"] = json!("read_committed");
            }
        }
        for _ in 0..tx.range(0, 4) {
            let mut a = match tx.range(0, 3) {
                0 => json!({"action": "abort_transaction", "producer": "p0"}),
                1 => json!({"action": "kill_producer", "producer": "p0"}),
                2 => json!({"action": "restart_producer", "producer": "p0"}),
                _ => json!({"action": "pause_producer", "producer": "p0", "for_ms": tx.range(500, 20_000)}),
            };
            a["at_ms"] = json!(tx.range(1_000, 50_000));
            actions.push(a);
        }
    }
    // Now and then a processing group (consume-transform-produce), exactly once
    // or at least once, with faults of its members, drawn from a stream of its
    // own: every other seed's scenario stays as it was.
    let mut pr = SimRng::stream(seed, "randomized-processing");
    let mut topics = topics;
    if pr.chance_ppm(250_000) {
        let input = format!("t{}", pr.range(0, topics.len() as u64 - 1));
        topics.push(
            json!({"name": "out0", "partitions": pr.range(1, 4), "replication_factor": pr.range(2, 3).min(u64::from(brokers)),
                           "min_insync_replicas": pr.range(1, 2)}),
        );
        let eos = pr.chance_ppm(700_000);
        let members = pr.range(1, 3);
        let kip848 = pr.chance_ppm(300_000);
        let (protocol, assignor) = if kip848 {
            ("consumer", "uniform")
        } else {
            ("classic", *pick(&mut pr, &["range", "cooperative-sticky"]))
        };
        groups.push(
            json!({"id": "e0", "topics": [input], "members": members, "protocol": protocol, "assignor": assignor,
                           "output_topic": "out0", "processing_guarantee": if eos { "exactly_once_v2" } else { "at_least_once" },
                           "commit_interval_ms": *pick(&mut pr, &[100u64, 1_000]),
                           "records_per_sec_per_member": *pick(&mut pr, &[300u64, 3000]),
                           "session_timeout_ms": *pick(&mut pr, &[10_000u64, 45_000])}),
        );
        for _ in 0..pr.range(0, 4) {
            let m = pr.range(0, members - 1);
            let mut a = match pr.range(0, 4) {
                0 => json!({"action": "add_consumer", "group": "e0"}),
                1 => json!({"action": "stop_consumer", "group": "e0", "member": m}),
                2 => json!({"action": "kill_consumer", "group": "e0", "member": m}),
                3 => json!({"action": "restart_consumer", "group": "e0", "member": m}),
                _ => json!({"action": "pause_consumer", "group": "e0", "member": m, "for_ms": pr.range(1_000, 30_000)}),
            };
            a["at_ms"] = json!(pr.range(1_000, 50_000));
            actions.push(a);
        }
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
           "cluster": {"brokers": brokers, "controllers": controllers, "unclean_leader_election_enable": unclean,
                       "eligible_leader_replicas_enable": elr},
           "topics": topics, "producers": producers, "groups": groups, "actions": actions})
}
