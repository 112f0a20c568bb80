//! Where a consumer reads and how: committed offsets from the coordinator
//! (OffsetFetch), `auto.offset.reset` where there are none, one fetch per leader
//! broker for the assigned partitions (reading up to the HW), and metadata to
//! find those leaders.

use super::{Chunk, Consumer, Phase, REQUEST_TIMEOUT, RETRY_BACKOFF};
use crate::kafka::notable::Notable;
use crate::kafka::obs::{Obs, RebalanceObs};
use crate::kafka::protocol::{BrokerMsg, ConsumerFetchResult, GroupError, GroupRequest, Msg};
use crate::kafka::Ctx;
use crate::scenario::{IsolationLevel, OffsetReset};
use crate::sim::{Micros, Node, MS};

impl Consumer {
    pub(super) fn request_offsets(&mut self, ctx: &mut Ctx) {
        self.request_offsets_at(ctx, ctx.now);
    }

    fn request_offsets_at(&mut self, ctx: &mut Ctx, depart: Micros) {
        let missing: Vec<u32> = self
            .assigned
            .iter()
            .copied()
            .filter(|p| !self.positions.contains_key(p) && !self.revoke_after_commit.contains(p))
            .collect();
        if missing.is_empty() || self.coordinator.is_none() {
            return;
        }
        let req_id = self.req();
        self.offsets_req = Some(req_id);
        self.send_group_request_at(ctx, depart, GroupRequest::OffsetFetch { req_id, partitions: missing });
    }

    pub(super) fn on_offsets(&mut self, ctx: &mut Ctx, req_id: u64, offsets: Result<Vec<(u32, Option<u64>)>, GroupError>) {
        if self.offsets_req != Some(req_id) {
            return;
        }
        self.offsets_req = None;
        self.plan_dirty = true;
        match offsets {
            Ok(list) => {
                let mut unknown = Vec::new();
                for (p, o) in list {
                    // Only partitions still waiting for a position (Kafka's initializing
                    // ones): one may have got it meanwhile, from an earlier answer
                    // and auto.offset.reset; going back there would read records again.
                    if !self.assigned.contains(&p) || self.revoke_after_commit.contains(&p) || self.positions.contains_key(&p) {
                        continue;
                    }
                    match o {
                        Some(o) => {
                            self.positions.insert(p, o);
                            self.consumed.insert(p, o);
                            self.committed.insert(p, o);
                        }
                        None => unknown.push(p),
                    }
                }
                // No committed offset: auto.offset.reset, asked of each partition's leader.
                self.to_reset.extend(unknown);
            }
            Err(GroupError::UnstableOffsetCommit) => {
                // A commit for one of them is still being written: ask again
                // after retry.backoff.ms.
                Self::count_group_error(ctx, GroupError::UnstableOffsetCommit);
                self.request_offsets_at(ctx, ctx.now + RETRY_BACKOFF);
            }
            Err(_) => {
                self.coordinator = None;
                self.request_offsets(ctx);
            }
        }
        self.ensure_fetches(ctx);
    }

    /// `auto.offset.reset` for partitions with no committed offset: a ListOffsets
    /// (earliest or latest) to each leader, as the Java consumer does.
    fn request_resets(&mut self, ctx: &mut Ctx) {
        let now = ctx.now;
        let mut by_leader: crate::sim::VecMap<u32, Vec<u32>> = Default::default();
        for &p in &self.to_reset {
            match self.leaders.get(&p).copied().flatten() {
                Some(l) => by_leader.entry_or_default(l).push(p),
                None => self.want_metadata = true,
            }
        }
        let earliest = self.cfg().auto_offset_reset == OffsetReset::Earliest;
        let read_committed = self.cfg().isolation_level == IsolationLevel::ReadCommitted;
        for (b, parts) in by_leader {
            if self.listing.get(&b).is_some_and(|&(_, at)| now.saturating_sub(at) < REQUEST_TIMEOUT) {
                continue;
            }
            let req_id = self.req();
            self.listing.insert(b, (req_id, now));
            ctx.send(
                Node::Broker(b),
                Msg::Broker(BrokerMsg::ListOffsets {
                    req_id,
                    parts,
                    earliest,
                    read_committed,
                }),
            );
        }
    }

    pub(super) fn on_listed_offsets(&mut self, ctx: &mut Ctx, b: u32, req_id: u64, parts: Vec<(u32, Option<u64>)>) {
        if self.listing.get(&b).map(|l| l.0) != Some(req_id) {
            return;
        }
        self.listing.remove(&b);
        for (p, offset) in parts {
            if !self.to_reset.contains(&p) {
                continue;
            }
            match offset {
                Some(o) => {
                    self.to_reset.remove(&p);
                    self.positions.insert(p, o);
                    self.consumed.insert(p, o);
                    self.plan_dirty = true;
                    ctx.observe(Obs::StartOffset {
                        group: self.group,
                        pidx: p,
                        offset: o,
                    });
                }
                // Not the leader any more: find out who is, then ask again.
                None => self.want_metadata = true,
            }
        }
        self.ensure_fetches(ctx);
    }

    /// One fetch per leader broker for the assigned partitions we know where to read.
    pub(super) fn ensure_fetches(&mut self, ctx: &mut Ctx) {
        if self.setup.cfg.is_share() {
            return self.ensure_share_fetches(ctx);
        }
        let now = ctx.now;
        let max_records = u64::from(self.cfg().max_poll_records) * 4;
        if self.phase == Phase::Unjoined || self.buffered >= max_records {
            return;
        }
        if self.plan_dirty {
            self.plan_dirty = false;
            let mut plan: crate::sim::VecMap<u32, Vec<u32>> = Default::default();
            let mut missing_leader = false;
            for &p in &self.assigned {
                if !self.positions.contains_key(&p) {
                    continue;
                }
                match self.leaders.get(&p).copied().flatten() {
                    Some(l) => plan.entry_or_default(l).push(p),
                    None => missing_leader = true,
                }
            }
            if missing_leader {
                self.want_metadata = true;
            }
            self.fetch_plan = plan.into_iter().collect();
        }
        if !self.to_reset.is_empty() {
            self.request_resets(ctx);
        }
        self.request_metadata(ctx);
        let wait = self.cfg().fetch_max_wait_ms * MS;
        let read_committed = self.cfg().isolation_level == IsolationLevel::ReadCommitted;
        for i in 0..self.fetch_plan.len() {
            let b = self.fetch_plan[i].0;
            if self.fetches.contains_key(&b) {
                continue;
            }
            let parts: Vec<(u32, u64)> = self.fetch_plan[i].1.iter().filter_map(|p| self.positions.get(p).map(|&o| (*p, o))).collect();
            let req_id = self.req();
            self.fetches.insert(b, (req_id, now, parts.clone()));
            ctx.send(
                Node::Broker(b),
                Msg::Broker(BrokerMsg::ConsumerFetch {
                    req_id,
                    parts,
                    max_wait_us: wait,
                    read_committed,
                }),
            );
        }
    }

    /// Asks a broker (the next one each time) where the leaders are, when needed.
    pub(super) fn request_metadata(&mut self, ctx: &mut Ctx) {
        if self.want_metadata && self.meta_in_flight.is_none() {
            let req_id = self.req();
            self.meta_target += 1;
            let target = self.meta_target % self.setup.cluster.brokers();
            self.meta_in_flight = Some((req_id, ctx.now, target));
            let topics = self.setup.topics.to_vec();
            ctx.send(Node::Broker(target), Msg::Broker(BrokerMsg::ClientMetadata { req_id, topics }));
        }
    }

    pub(super) fn on_fetched(&mut self, ctx: &mut Ctx, b: u32, req_id: u64, parts: Vec<(u32, ConsumerFetchResult)>) {
        let from = match self.fetches.get(&b) {
            Some(f) if f.0 == req_id => self.fetches.remove(&b).map(|f| f.2).unwrap_or_default(),
            _ => return,
        };
        let mut got = false;
        let mut reset = Vec::new();
        let mut first_fetches = Vec::new();
        for (p, result) in parts {
            if !self.assigned.contains(&p) {
                continue;
            }
            // Fetched from another position than the partition's now (the member
            // went back to its committed offset meanwhile): stale, as Kafka's
            // FetchCollector discards it; the next fetch starts at the position.
            let stale = self.positions.get(&p).is_none_or(|&pos| !from.contains(&(p, pos)));
            // A partition's first answer since it came (a stale one does not count).
            if !stale && self.first_fetch.remove(&p) {
                first_fetches.push(p);
            }
            match result {
                ConsumerFetchResult::Data { .. } | ConsumerFetchResult::OutOfRange { .. } if stale => {}
                ConsumerFetchResult::Data { batches, aborted, .. } => {
                    let Some(pos) = self.positions.get(&p).copied() else { continue };
                    let mut next = pos;
                    for batch in batches {
                        let end = batch.end_offset();
                        if end <= next {
                            continue;
                        }
                        // Markers never reach the application, nor (read_committed) records
                        // of aborted transactions; the position moves past them.
                        let aborted_txn = || {
                            aborted
                                .iter()
                                .any(|t| t.pid == batch.pid && batch.base_offset >= t.first && t.end.is_some_and(|e| batch.base_offset < e.0))
                        };
                        if batch.txn.is_control() || (!aborted.is_empty() && aborted_txn()) {
                            self.buffer.push_back(Chunk {
                                pidx: p,
                                offset: end,
                                records: 0,
                                created_us: batch.created_us,
                                created_end_us: batch.created_us,
                                producer: batch.producer,
                                audit_seq: 0,
                                delivery_count: 0,
                                leader: b,
                            });
                            next = end;
                            continue;
                        }
                        let from = batch.base_offset.max(next);
                        self.buffer.push_back(Chunk {
                            pidx: p,
                            offset: from,
                            records: end - from,
                            created_us: batch.created_at(from),
                            created_end_us: batch.created_end_us,
                            producer: batch.producer,
                            audit_seq: batch.audit_seq + (from - batch.base_offset),
                            delivery_count: 0,
                            leader: b,
                        });
                        self.buffered += end - from;
                        next = end;
                        got = true;
                    }
                    self.positions.insert(p, next);
                }
                ConsumerFetchResult::NotLeader => {
                    self.want_metadata = true;
                    self.plan_dirty = true;
                }
                ConsumerFetchResult::OutOfRange { log_start, hw } => reset.push((p, log_start, hw)),
            }
        }
        for p in first_fetches {
            ctx.observe(Obs::rebalance(self.group, RebalanceObs::Resumed { pidx: p }));
        }
        for (p, log_start, hw) in reset {
            let to = match self.cfg().auto_offset_reset {
                OffsetReset::Earliest => log_start,
                OffsetReset::Latest => hw,
            };
            self.positions.insert(p, to);
            self.consumed.insert(p, to);
            // Records fetched before the reset are stale: Kafka drops them from the buffer.
            self.buffer.retain(|ch| ch.pidx != p);
            self.buffered = self.buffer.iter().map(|ch| ch.records).sum();
            // auto.offset.reset moves the position by rule, not by consuming: a commit
            // below the old one is then allowed (invariant 5's "unless reset").
            ctx.observe(Obs::OffsetReset {
                group: self.group,
                pidx: p,
                to,
            });
            let label = self.label();
            ctx.observe(Obs::note(Notable::Text(format!(
                "consumer {label}: offset out of range on partition {p}, auto.offset.reset to {to}"
            ))));
        }
        if got && self.waiting_data {
            self.waiting_data = false;
            self.schedule_poll(ctx, 0);
        }
        self.ensure_fetches(ctx);
    }
}
