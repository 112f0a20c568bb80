//! What a broker answers clients besides produce: consumer fetches (committed
//! data only, below the HW, held up to `fetch.max.wait.ms` when there is none:
//! the long poll) and metadata (who leads each partition, as this broker knows it).

use super::{Broker, ParkedConsumerFetch, FETCH_MAX_BYTES};
use crate::kafka::protocol::{ConsumerFetchResult, ConsumerMsg, Msg, ProducerMsg};
use crate::kafka::types::Role;
use crate::kafka::Ctx;
use crate::sim::{Micros, Node};

impl Broker {
    pub(super) fn answer_client_metadata(&mut self, ctx: &mut Ctx, from: Node, req_id: u64, topics: Vec<u32>) {
        let mut leaders = Vec::new();
        for t in topics {
            let t = &self.cluster.topics[t as usize];
            for p in t.first..t.first + t.partitions {
                let (l, e) = self.image.get(p as usize).copied().unwrap_or((None, -1));
                leaders.push((p, l, e));
            }
        }
        let done = self.service(ctx.now, 20);
        let msg = match from {
            Node::Consumer(_) => Msg::Consumer(ConsumerMsg::Metadata { req_id, leaders }),
            _ => Msg::Producer(ProducerMsg::MetadataResponse { req_id, leaders }),
        };
        self.respond(ctx, done, from, msg);
    }

    /// ListOffsets: the log start (earliest) or the end a consumer may read up
    /// to (latest: the HW, or the LSO for read_committed, as Kafka answers by
    /// isolation level) of each partition this broker leads.
    pub(super) fn answer_list_offsets(&mut self, ctx: &mut Ctx, from: Node, req_id: u64, parts: Vec<u32>, earliest: bool, read_committed: bool) {
        let answers = parts
            .into_iter()
            .map(|p| {
                let offset = self.replica(p).filter(|r| r.role == Role::Leader).map(|r| match (earliest, read_committed) {
                    (true, _) => r.log.log_start,
                    (false, false) => r.log.hw,
                    (false, true) => r.log.lso(),
                });
                (p, offset)
            })
            .collect();
        let done = self.service(ctx.now, 20);
        self.respond(ctx, done, from, Msg::Consumer(ConsumerMsg::ListedOffsets { req_id, parts: answers }));
    }

    /// Answers a consumer fetch with committed data (below the HW), or parks it.
    pub(super) fn answer_consumer_fetch(&mut self, ctx: &mut Ctx, c: u32, req_id: u64, parts: Vec<(u32, u64)>, park_for: Option<Micros>, read_committed: bool) {
        let mut out = Vec::with_capacity(parts.len());
        let mut anything = false;
        let mut bytes = 0u64;
        for &(pidx, offset) in &parts {
            let result = match self.replica(pidx) {
                Some(r) if r.role == Role::Leader => {
                    let log = &r.log;
                    // As in Kafka: out of range only outside the log; above the HW
                    // (a new leader's HW lags a fetch) there is just nothing to read yet.
                    if offset < log.log_start || offset > log.leo {
                        ConsumerFetchResult::OutOfRange {
                            log_start: log.log_start,
                            hw: if read_committed { log.lso() } else { log.hw },
                        }
                    } else {
                        let mut batches = Vec::new();
                        let mut n = 0u64;
                        // read_committed reads only below the last stable offset.
                        let limit = if read_committed { log.lso() } else { log.hw };
                        for batch in log.batches.iter().skip(log.batch_index_from(offset)) {
                            if batch.end_offset() > limit || (n > 0 && n + u64::from(batch.bytes) > FETCH_MAX_BYTES) {
                                break;
                            }
                            n += u64::from(batch.bytes);
                            batches.push(batch.clone());
                        }
                        bytes += n;
                        let aborted = match (read_committed, batches.first(), batches.last()) {
                            (true, Some(first), Some(last)) if !log.txns.is_empty() => log.aborted_between(first.base_offset, last.end_offset()),
                            _ => Vec::new(),
                        };
                        ConsumerFetchResult::Data { hw: log.hw, batches, aborted }
                    }
                }
                _ => ConsumerFetchResult::NotLeader,
            };
            if !matches!(&result, ConsumerFetchResult::Data { batches, .. } if batches.is_empty()) {
                anything = true;
            }
            out.push((pidx, result));
        }
        if let (false, Some(wait)) = (anything, park_for) {
            let deadline = ctx.now + wait;
            self.parked_consumers.push(ParkedConsumerFetch {
                consumer: c,
                req_id,
                parts,
                deadline,
                read_committed,
            });
            self.arm_parked_timer(ctx);
            return;
        }
        let done = self.service(ctx.now, 20 + 3 * parts.len() as u64 + bytes / 2_000);
        self.respond(ctx, done, Node::Consumer(c), Msg::Consumer(ConsumerMsg::Fetched { req_id, parts: out }));
    }

    /// The HW moved: consumers waiting on this partition get their data now.
    pub(super) fn wake_consumers(&mut self, ctx: &mut Ctx, pidx: u32) {
        if self.parked_consumers.is_empty() {
            return;
        }
        let mut woken = Vec::new();
        let mut i = 0;
        while i < self.parked_consumers.len() {
            if self.parked_consumers[i].parts.iter().any(|p| p.0 == pidx) {
                woken.push(self.parked_consumers.swap_remove(i));
            } else {
                i += 1;
            }
        }
        for w in woken {
            self.answer_consumer_fetch(ctx, w.consumer, w.req_id, w.parts, None, w.read_committed);
        }
    }
}
