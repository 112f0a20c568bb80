//! Engine-level checks of a node's reaction to one message, on a node taken from a
//! running simulation.

use super::*;
use crate::kafka::consumer::Phase;
use crate::kafka::protocol::GroupError;

fn stable_group_member() -> (Simulation, Consumer) {
    let s = serde_json::json!({
        "seed": 17, "duration_ms": 30000, "cluster": {"brokers": 3},
        "topics": [{"name": "orders", "partitions": 12, "replication_factor": 3}],
        "producers": [{"id": "p", "topic": "orders", "records_per_sec": 1000, "keys": 100}],
        "groups": [{"id": "g1", "topics": ["orders"], "members": 3, "auto_offset_reset": "earliest"}],
    });
    let mut sim = Simulation::new(&Scenario::from_json(&s.to_string()).expect("valid scenario"));
    sim.run_until(20 * SEC);
    let c = sim.consumers[0].clone();
    assert_eq!(c.phase, Phase::Stable);
    assert!(!c.assigned.is_empty());
    (sim, c)
}

fn deliver(sim: &Simulation, c: &mut Consumer, msg: ConsumerMsg) {
    let mut rng = SimRng::stream(1, "test");
    let mut out = Outbox::default();
    let mut ctx = Ctx::new(sim.now, Node::Consumer(0), &mut rng, &mut out);
    c.on_message(&mut ctx, Node::Broker(0), msg);
}

/// Issue 14: an ILLEGAL_GENERATION answer to a heartbeat sent in an older
/// generation is ignored (Kafka's HeartbeatResponseHandler); one about the
/// member's current generation loses the membership.
#[test]
fn a_stale_illegal_generation_answer_is_ignored() {
    let (sim, mut c) = stable_group_member();
    let generation = c.generation;
    let stale = ConsumerMsg::HeartbeatDone {
        generation: generation - 1,
        error: Some(GroupError::IllegalGeneration),
    };
    deliver(&sim, &mut c, stale);
    assert_eq!((c.phase, c.generation), (Phase::Stable, generation));
    assert!(!c.assigned.is_empty());
    let current = ConsumerMsg::HeartbeatDone {
        generation,
        error: Some(GroupError::IllegalGeneration),
    };
    deliver(&sim, &mut c, current);
    assert_eq!(c.phase, Phase::Unjoined);
    assert!(c.assigned.is_empty());
}
