//! Where observations go: every one to the checker first, then to the metrics,
//! the counters, the event log, the group reports and the ML models. Two are
//! more than reports: a broker's `Exit` (the engine ends the process) and the
//! ML application's alerts and labels (the engine hands them to the producer
//! that writes them).

use super::Simulation;
use crate::kafka::notable::Notable;
use crate::kafka::obs::{ErrorKind, Obs, ShareObs};
use crate::sim::Node;

impl Simulation {
    /// Takes one observation from node `me`; returns whether partition
    /// availability may have changed.
    pub(super) fn observe(&mut self, me: Node, obs: Obs) -> bool {
        let now = self.now;
        self.checker.observe(now, &obs);
        match obs {
            Obs::Note(what) => self.log.push(now, *what),
            Obs::NoteOnce(what) => {
                let repeated = match (&*what, self.log.entries.back()) {
                    (Notable::ProducerError { error, .. }, Some(last)) => {
                        matches!(&last.what, Notable::ProducerError { error: x, .. } if x == error)
                    }
                    _ => false,
                };
                if !repeated {
                    self.log.push(now, *what);
                }
            }
            Obs::Produced(n) => self.metrics.record_produced(n),
            Obs::Acked { records, bytes, latency, .. } => self.metrics.record_acked(u64::from(records), u64::from(bytes), latency),
            Obs::Failed(n) => {
                self.counters.failed_records += n;
                self.metrics.record_failed(n);
            }
            Obs::Errors { kind, name, count } => {
                let errors = match kind {
                    ErrorKind::Produce => &mut self.counters.errors,
                    ErrorKind::Group => &mut self.counters.group_errors,
                    ErrorKind::Replication => &mut self.counters.replication_errors,
                };
                *errors.entry(name).or_default() += count;
            }
            Obs::LabelsDue { sink, at, part, records } => self.producers[sink as usize].inject(at, part, records),
            Obs::Truncated { from, to, .. } => self.counters.truncated_records += from - to,
            Obs::PartitionChange { prev, next, kind, .. } if prev.leader != next.leader => {
                self.counters.leader_elections += 1;
                // Kafka marks a last-known-leader election unclean (RECOVERING); the
                // checker still holds it to every acknowledged record, since a
                // process that dies here keeps its log.
                if kind == crate::kafka::notable::ElectionKind::LastKnownLeader {
                    self.counters.unclean_elections += 1;
                }
            }
            Obs::UncleanElection { .. } => self.counters.unclean_elections += 1,
            Obs::AvailabilityChanged => return true,
            Obs::MinIsrChanged { topic, min_isr } => {
                let t = &self.cluster.topics[topic as usize];
                for pidx in t.first..t.first + t.partitions {
                    self.min_isr[pidx as usize] = min_isr;
                    for b in &mut self.brokers {
                        if let Some(r) = b.replica_mut(pidx) {
                            r.min_isr = min_isr;
                        }
                    }
                }
            }
            // A committed metadata record's meaning, once: a new leader may commit
            // (and report) records its predecessor had already reported.
            Obs::Committed { offset, reports } => {
                if offset <= self.reported_meta {
                    return false;
                }
                self.reported_meta = offset;
                let mut refresh = false;
                for r in reports {
                    refresh |= self.observe(me, r);
                }
                return refresh;
            }
            Obs::Exit { stopped } => {
                if let Node::Broker(b) = me {
                    self.kill_broker(b, stopped);
                }
            }
            Obs::OffsetCommitted { group, pidx, offset } => {
                self.reports[group as usize].committed.insert(pidx, offset);
            }
            Obs::StartOffset { group, pidx, offset } => {
                self.reports[group as usize].start_offsets.entry(pidx).or_insert(offset);
            }
            Obs::Delivered(d) => {
                self.metrics.record_consumed(d.records, now.saturating_sub(d.created));
                self.reports[d.group as usize].delivered(&d);
                if self.ml.active {
                    let producers = &mut self.producers;
                    self.ml
                        .process(&self.cluster, now, &d, |p, at, part, n| producers[p as usize].inject(at, part, n));
                }
            }
            Obs::ProducerFenced { .. } => {
                // A processing member's producer: Kafka Streams replaces it.
                if let Node::Client(p) = me {
                    if self.producers[p as usize].app.is_some() {
                        self.app_restarts.push(p);
                    }
                }
            }
            Obs::Rebalance { group, what } => self.reports[group as usize].rebalance(now, *what),
            Obs::Share(what) => {
                let group = match &*what {
                    ShareObs::Init { group, .. } | ShareObs::Acquired { group, .. } | ShareObs::Unlocked { group, .. } => *group,
                };
                self.reports[group as usize].share_obs(&what);
            }
            _ => {}
        }
        false
    }
}
