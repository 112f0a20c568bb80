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

/// A KIP-848 group of two members on four partitions, stable, and its coordinator.
fn kip848_group() -> (Simulation, Broker) {
    let s = serde_json::json!({
        "seed": 17, "duration_ms": 30000, "cluster": {"brokers": 3},
        "topics": [{"name": "orders", "partitions": 4, "replication_factor": 3}],
        "producers": [{"id": "p", "topic": "orders", "records_per_sec": 1000, "keys": 100}],
        "groups": [{"id": "g1", "topics": ["orders"], "members": 2, "protocol": "consumer", "auto_offset_reset": "earliest"}],
    });
    let mut sim = Simulation::new(&Scenario::from_json(&s.to_string()).expect("valid scenario"));
    sim.run_until(20 * SEC);
    let b = sim
        .brokers
        .iter()
        .find(|b| b.coordinator.groups.contains_key(&0))
        .expect("a coordinator")
        .clone();
    (sim, b)
}

/// Sends one ConsumerGroupHeartbeat to `b` and returns its answer.
fn heartbeat(sim: &Simulation, b: &mut Broker, member_id: &str, member_epoch: i32, owned: Vec<u32>) -> crate::kafka::protocol::ConsumerHeartbeatDone {
    let mut rng = SimRng::stream(1, "test");
    let mut out = Outbox::default();
    let mut ctx = Ctx::new(sim.now, Node::Broker(b.id), &mut rng, &mut out);
    let req = crate::kafka::protocol::GroupRequest::ConsumerHeartbeat {
        member_id: member_id.to_string(),
        member_epoch,
        instance_id: None,
        owned,
    };
    b.handle_group_request(&mut ctx, 0, 0, req);
    out.effects
        .into_iter()
        .find_map(|e| match e {
            Effect::Send {
                msg: Msg::Consumer(ConsumerMsg::ConsumerHeartbeatDone(h)),
                ..
            } => Some(*h),
            _ => None,
        })
        .expect("an answer")
}

/// Issue 14 (KIP-848 reconciliation): a member with partitions to revoke stays at
/// its epoch and gets nothing new until its heartbeat shows it gave them up.
#[test]
fn kip848_a_member_revoking_gets_nothing_new_until_it_acknowledges() {
    let (sim, mut b) = kip848_group();
    let (a, other, epoch) = {
        let grp = b.coordinator.group_mut(0);
        let ids: Vec<String> = grp.members.keys().cloned().collect();
        let (a, other) = (ids[0].clone(), ids[1].clone());
        // A new group epoch: `a` must give up its first partition and take one that
        // `other` has already released.
        let mine = grp.members[&a].assignment.clone();
        let theirs = grp.members[&other].assignment.clone();
        grp.members.get_mut(&other).expect("present").assignment = theirs[1..].to_vec();
        grp.generation += 1;
        grp.target.insert(a.clone(), vec![mine[1], theirs[0]]);
        grp.target
            .insert(other.clone(), vec![mine[0]].into_iter().chain(theirs[1..].iter().copied()).collect());
        let epoch = grp.members[&a].member_epoch;
        (a, other, epoch)
    };
    assert!(b.coordinator.group(0).members.contains_key(&other));
    let mine = b.coordinator.group(0).members[&a].assignment.clone();
    let free = b.coordinator.group(0).target[&a][1];
    let h = heartbeat(&sim, &mut b, &a, epoch, mine.clone());
    assert_eq!(h.error, None);
    assert_eq!(h.member_epoch, epoch, "the epoch stays while revoking");
    assert_eq!(h.assignment, Some(vec![mine[1]]), "only what it keeps; nothing new yet");
    // It gives the partition up: now it gets the free one and the new epoch.
    let h = heartbeat(&sim, &mut b, &a, epoch, vec![mine[1]]);
    assert_eq!(h.member_epoch, epoch + 1);
    let mut want = vec![mine[1], free];
    want.sort_unstable();
    assert_eq!(h.assignment, Some(want));
}

/// Issue 14: KIP-848 epoch checks. A heartbeat with an epoch ahead of the
/// coordinator's is fenced (FENCED_MEMBER_EPOCH) and the member removed; a commit
/// with another epoch than the member's is answered STALE_MEMBER_EPOCH.
#[test]
fn kip848_fenced_and_stale_member_epochs() {
    let (sim, mut b) = kip848_group();
    let (a, epoch) = {
        let grp = b.coordinator.group(0);
        let (id, m) = grp.members.iter().next().expect("a member");
        (id.clone(), m.member_epoch)
    };
    let owned = b.coordinator.group(0).members[&a].assignment.clone();
    // The previous epoch with nothing extra owned is accepted.
    let h = heartbeat(&sim, &mut b, &a, epoch, owned.clone());
    assert_eq!(h.error, None);
    // A commit with an older epoch is stale.
    let mut rng = SimRng::stream(1, "test");
    let mut out = Outbox::default();
    let mut ctx = Ctx::new(sim.now, Node::Broker(b.id), &mut rng, &mut out);
    let commit = crate::kafka::protocol::GroupRequest::OffsetCommit {
        req_id: 7,
        member_id: a.clone(),
        generation: epoch - 1,
        offsets: vec![(owned[0], 1)],
    };
    b.handle_group_request(&mut ctx, 0, 0, commit);
    let stale = out.effects.iter().any(|e| {
        matches!(
            e,
            Effect::Send {
                msg: Msg::Consumer(ConsumerMsg::CommitDone {
                    req_id: 7,
                    error: Some(GroupError::StaleMemberEpoch)
                }),
                ..
            }
        )
    });
    assert!(stale, "{:?}", out.effects);
    // An epoch from the future is fenced, and the member is gone.
    let h = heartbeat(&sim, &mut b, &a, epoch + 3, owned);
    assert_eq!(h.error, Some(GroupError::FencedMemberEpoch));
    assert!(!b.coordinator.group(0).members.contains_key(&a));
}

/// Issue 14: each member's JoinGroup carries the generation it owns its partitions
/// in, and the leader's member list passes it on to the assignor (the sticky
/// assignors' generation rules decide between conflicting claims with it).
#[test]
fn the_assignor_sees_each_members_own_generation() {
    let (sim, _) = stable_group_member();
    let mut b = sim
        .brokers
        .iter()
        .find(|b| b.coordinator.groups.contains_key(&0))
        .expect("a coordinator")
        .clone();
    let (ids, generation) = {
        let grp = b.coordinator.group(0);
        (
            grp.members
                .iter()
                .map(|(id, m)| (id.clone(), m.consumer, m.assignment.clone()))
                .collect::<Vec<_>>(),
            grp.generation,
        )
    };
    let mut rng = SimRng::stream(1, "test");
    let mut out = Outbox::default();
    let mut ctx = Ctx::new(sim.now, Node::Broker(b.id), &mut rng, &mut out);
    // The first member rejoins with claims from an older generation, the others
    // with the current one.
    for (k, (id, consumer, owned)) in ids.iter().enumerate() {
        let req = crate::kafka::protocol::GroupRequest::Join {
            member_id: id.clone(),
            instance_id: None,
            owned: owned.clone(),
            generation: if k == 0 { generation - 1 } else { generation },
        };
        b.handle_group_request(&mut ctx, *consumer, 0, req);
    }
    // The initial delay is over long ago: the last join completes the round.
    let infos = out
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::Send {
                msg: Msg::Consumer(ConsumerMsg::Joined(j)),
                ..
            } => j.members.clone(),
            _ => None,
        })
        .expect("the leader's JoinGroup answer");
    for (k, (id, _, _)) in ids.iter().enumerate() {
        let info = infos.iter().find(|i| &i.member_id == id).expect("listed");
        assert_eq!(info.generation, if k == 0 { generation - 1 } else { generation }, "{id}: {infos:?}");
    }
}
