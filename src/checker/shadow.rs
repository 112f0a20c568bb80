//! The checker's own picture of one replica's log, built only from what the
//! broker reported (appended, truncated, reset, log start moved): which
//! producer records sit at which offsets, as runs of consecutive records of one
//! producer. Runs merge freely, so memory follows producers and retention, not
//! batches.

use std::collections::VecDeque;

/// Consecutive records of one producer instance: offsets `start..start+len`
/// hold its audit sequences `seq..seq+len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub start: u64,
    pub len: u64,
    pub producer: u32,
    pub seq: u64,
    /// Written by an idempotent producer (with producer id and sequence numbers).
    pub idem: bool,
}

impl Run {
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

#[derive(Debug, Clone, Default)]
pub struct Shadow {
    pub runs: VecDeque<Run>,
    pub log_start: u64,
    pub leo: u64,
    /// Invariant 6: per idempotent producer instance, the end of the last sequence appended.
    pub idem_last: Vec<(u32, u64)>,
}

impl Shadow {
    pub fn append(&mut self, run: Run) {
        self.leo = run.end();
        if let Some(last) = self.runs.back_mut() {
            // Internal records (a coordinator's) have no sequences to keep apart.
            let internal = run.producer == crate::kafka::log::INTERNAL_WRITER && last.producer == run.producer;
            let contiguous = last.producer == run.producer && last.idem == run.idem && last.seq + last.len == run.seq;
            if last.end() == run.start && (internal || contiguous) {
                last.len += run.len;
                return;
            }
        }
        if run.len > 0 {
            self.runs.push_back(run);
        }
    }

    /// Everything at or above `to` is gone; `to` is the new log end.
    pub fn truncate(&mut self, to: u64) {
        while self.runs.back().is_some_and(|r| r.start >= to) {
            self.runs.pop_back();
        }
        if let Some(last) = self.runs.back_mut() {
            if last.end() > to {
                last.len = to - last.start;
            }
        }
        self.leo = to;
    }

    /// The whole log is dropped; it restarts at `offset`.
    pub fn reset(&mut self, offset: u64) {
        self.runs.clear();
        self.log_start = offset;
        self.leo = offset;
    }

    /// Records below `offset` were deleted.
    pub fn move_start(&mut self, offset: u64) {
        while self.runs.front().is_some_and(|r| r.end() <= offset) {
            self.runs.pop_front();
        }
        if let Some(first) = self.runs.front_mut() {
            if first.start < offset {
                let cut = offset - first.start;
                first.start += cut;
                first.seq += cut;
                first.len -= cut;
            }
        }
        self.log_start = self.log_start.max(offset);
    }

    /// The runs from `from` on (cut exactly there).
    pub fn from(&self, from: u64) -> impl Iterator<Item = Run> + '_ {
        let i = self.runs.partition_point(|r| r.end() <= from);
        self.runs.iter().skip(i).map(move |r| {
            if r.start < from {
                let cut = from - r.start;
                Run {
                    start: from,
                    len: r.len - cut,
                    seq: r.seq + cut,
                    ..*r
                }
            } else {
                *r
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(start: u64, len: u64, producer: u32, seq: u64) -> Run {
        Run {
            start,
            len,
            producer,
            seq,
            idem: false,
        }
    }

    #[test]
    fn runs_merge_and_cut_exactly() {
        let mut s = Shadow::default();
        s.append(run(0, 10, 1, 0));
        s.append(run(10, 5, 1, 10));
        s.append(run(15, 5, 2, 0));
        assert_eq!(s.runs.len(), 2);
        assert_eq!(s.leo, 20);
        s.truncate(12);
        assert_eq!(s.runs.len(), 1);
        assert_eq!((s.runs[0].len, s.leo), (12, 12));
        s.move_start(4);
        assert_eq!((s.runs[0].start, s.runs[0].seq, s.runs[0].len, s.log_start), (4, 4, 8, 4));
        let from: Vec<Run> = s.from(6).collect();
        assert_eq!((from[0].start, from[0].seq, from[0].len), (6, 6, 6));
        s.reset(30);
        assert!(s.runs.is_empty());
        assert_eq!((s.log_start, s.leo), (30, 30));
    }
}
