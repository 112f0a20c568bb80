use kafka_sim::scenario::Action;
use kafka_sim::{Scenario, Simulation};
fn main() {
    let s = Scenario::from_json(r#"{"seed": 17, "duration_ms": 90000, "cluster": {"brokers": 3},
        "topics": [{"name": "orders", "partitions": 12, "replication_factor": 3, "min_insync_replicas": 2}],
        "producers": [{"id": "p", "topic": "orders", "records_per_sec": 3000, "keys": 1000}],
        "groups": [{"id": "g1", "topics": ["orders"], "members": 3, "auto_offset_reset": "earliest"}]}"#).unwrap();
    let mut sim = Simulation::new(&s);
    for t in [5u64, 10, 15, 20, 22, 23, 25, 30, 60, 66, 67, 70, 75] {
        sim.run_until(t * 1_000_000);
        if t == 22 { sim.inject(Action::KillConsumer { group: "g1".into(), member: 0 }).unwrap(); }
        let g = &sim.groups()[0];
        let snap = sim.snapshot();
        let hw: Vec<u64> = snap.partitions.iter().skip(8).take(4).map(|p| p.replicas.iter().find(|r| Some(r.broker) == p.leader).unwrap().hw).collect();
        println!("{t}s committed {:?} delivered {:?} hw {:?} redelivered {}", g.offsets.iter().skip(8).collect::<Vec<_>>(), g.delivered_upto.iter().skip(8).collect::<Vec<_>>(), hw, g.redelivered);
        println!("    members {:?}", snap.groups[0].members.iter().map(|m| (m.number, m.state, m.assigned.iter().map(|a| a.1).collect::<Vec<_>>())).collect::<Vec<_>>());
    }
}
