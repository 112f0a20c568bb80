//! The exactly-once audit of processing groups (consume-transform-produce),
//! from observations only: which input records each output record was made
//! from (`AppOutput`), which output records are committed (in the output
//! partitions' logs, outside aborted or undecided transactions), and which input
//! records the group has committed past. Every such input record must have
//! exactly one committed output under exactly_once_v2; at_least_once counts its
//! repeats.

use super::shadow::Shadow;
use super::transactions::TxnAudit;
use crate::kafka::log::INTERNAL_WRITER;
use crate::sim::{SortSmall, VecMap};

/// A run of outputs: audit sequences [seq, seq + records) made from input
/// offsets [offset, offset + records) of input partition `pidx`.
#[derive(Debug, Clone, Copy)]
struct Tag {
    seq: u64,
    records: u64,
    pidx: u32,
    offset: u64,
}

#[derive(Debug, Clone, Default)]
pub struct EosAudit {
    /// (output producer instance, output partition) -> (group, tags in sequence order).
    tags: VecMap<(u32, u32), (u32, Vec<Tag>)>,
    /// (group, input partition) -> the lowest offset the group handed to its application.
    first: VecMap<(u32, u32), u64>,
}

/// One processing group's outcome (`kafka-sim run`'s `eos` object).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EosCounts {
    /// Input records below the group's committed offsets.
    pub inputs: u64,
    /// Committed output records made from them.
    pub outputs: u64,
    pub duplicate_outputs: u64,
    pub missing_outputs: u64,
}

/// The logs the audit reads: per partition, the holder's shadow and how far it is committed.
pub trait Logs {
    fn log(&self, pidx: u32) -> Option<&Shadow>;
    fn hw(&self, pidx: u32) -> u64;
}

impl EosAudit {
    pub fn output(&mut self, group: u32, instance: u32, pidx: u32, seq: u64, records: u64, source: (u32, u64)) {
        let (_, tags) = self.tags.get_or_insert_with((instance, pidx), || (group, Vec::new()));
        match tags.last_mut() {
            Some(t) if t.seq + t.records == seq && t.pidx == source.0 && t.offset + t.records == source.1 => t.records += records,
            _ => tags.push(Tag {
                seq,
                records,
                pidx: source.0,
                offset: source.1,
            }),
        }
    }

    pub fn delivered(&mut self, group: u32, pidx: u32, offset: u64) {
        let f = self.first.get_or_insert_with((group, pidx), || offset);
        *f = (*f).min(offset);
    }

    /// The group's position jumped past records the log no longer holds
    /// (`auto.offset.reset` after OFFSET_OUT_OF_RANGE): records below `to` were
    /// never its inputs, whatever it read before.
    pub fn reset(&mut self, group: u32, pidx: u32, to: u64) {
        let f = self.first.get_or_insert_with((group, pidx), || to);
        *f = (*f).max(to);
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// Group `g`'s counts, given its committed offsets per input partition and
    /// whether it reads committed records only. None when retention deleted
    /// records the audit needs (it cannot tell then).
    pub fn counts(&self, g: u32, committed: &[(u32, u64)], read_committed: bool, txns: &TxnAudit, logs: &impl Logs) -> Option<EosCounts> {
        let mut out = EosCounts::default();
        let mut complete = true;
        // Input offsets whose records the group must have processed, per partition.
        let mut inputs: VecMap<u32, Vec<(u64, u64)>> = VecMap::default();
        for &(p, upto) in committed {
            let Some(&from) = self.first.get(&(g, p)) else { continue };
            let Some(log) = logs.log(p) else { continue };
            complete &= log.log_start <= from;
            let ranges = inputs.get_or_insert_with(p, Vec::new);
            for run in log.runs.iter().filter(|r| r.producer != INTERNAL_WRITER && r.end() > from && r.start < upto) {
                let (a, b) = (run.start.max(from), run.end().min(upto));
                if a >= b {
                    continue;
                }
                let seq = run.seq + (a - run.start);
                for (s, e) in txns.visible(run.producer, p, seq, seq + (b - a), read_committed) {
                    ranges.push((run.start + (s - run.seq), run.start + (e - run.seq)));
                }
            }
        }
        // Where committed outputs came from, per input partition.
        let mut made: VecMap<u32, Vec<(u64, u64)>> = VecMap::default();
        for (&(instance, q), (group, tags)) in self.tags.iter() {
            if *group != g {
                continue;
            }
            let Some(log) = logs.log(q) else { continue };
            complete &= log.log_start == 0;
            let hw = logs.hw(q);
            for run in log.runs.iter().filter(|r| r.producer == instance && r.start < hw) {
                let len = run.len.min(hw - run.start);
                for (s, e) in txns.visible(instance, q, run.seq, run.seq + len, true) {
                    for t in tags.iter().skip(tags.partition_point(|t| t.seq + t.records <= s)) {
                        if t.seq >= e {
                            break;
                        }
                        let (a, b) = (t.seq.max(s), (t.seq + t.records).min(e));
                        let from = t.offset + (a - t.seq);
                        made.get_or_insert_with(t.pidx, Vec::new).push((from, from + (b - a)));
                    }
                }
            }
        }
        for (p, ranges) in inputs.iter() {
            let outputs = made.get(p).map_or(&[][..], |v| v.as_slice());
            let (n, covered, dups, missing) = coverage(ranges, outputs);
            out.inputs += n;
            out.outputs += covered + dups;
            out.duplicate_outputs += dups;
            out.missing_outputs += missing;
        }
        complete.then_some(out)
    }
}

/// Over the input ranges: (inputs, inputs with an output, extra outputs, inputs without one).
fn coverage(inputs: &[(u64, u64)], outputs: &[(u64, u64)]) -> (u64, u64, u64, u64) {
    // Output multiplicity as a step function: +1 at each start, -1 at each end.
    let mut edges: Vec<(u64, i64)> = outputs.iter().flat_map(|&(a, b)| [(a, 1), (b, -1)]).collect();
    edges.sort_small();
    let mut inputs: Vec<(u64, u64)> = inputs.to_vec();
    inputs.sort_small();
    let (mut n, mut covered, mut dups, mut missing) = (0, 0, 0, 0);
    let mut e = 0;
    let mut depth: i64 = 0;
    for (a, b) in inputs {
        n += b - a;
        let mut at = a;
        // Apply every edge up to `at`.
        while e < edges.len() && edges[e].0 <= at {
            depth += edges[e].1;
            e += 1;
        }
        while at < b {
            let next = edges.get(e).map_or(b, |x| x.0.min(b));
            let len = next - at;
            if depth <= 0 {
                missing += len;
            } else {
                covered += len;
                dups += len * (depth as u64 - 1);
            }
            at = next;
            while e < edges.len() && edges[e].0 <= at {
                depth += edges[e].1;
                e += 1;
            }
        }
    }
    (n, covered, dups, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_counts_repeats_and_gaps() {
        // Inputs 0..10; outputs for 0..4 twice, 4..6 once, none for 6..10.
        let (n, covered, dups, missing) = coverage(&[(0, 10)], &[(0, 4), (0, 4), (4, 6)]);
        assert_eq!((n, covered, dups, missing), (10, 6, 4, 4));
        // Outputs beyond the inputs do not count.
        assert_eq!(coverage(&[(0, 5)], &[(0, 8)]), (5, 5, 0, 0));
        assert_eq!(coverage(&[(2, 4), (6, 9)], &[(0, 3), (7, 20)]), (5, 3, 0, 2));
    }
}
