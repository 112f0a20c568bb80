//! Time series kept in bounded memory: per-interval counters and latency
//! histograms (HdrHistogram, not sorted vectors), with old points dropped from
//! the front once a series is full; and per group (`groups`), its rebalances and
//! what it consumed.

pub mod groups;

use crate::sim::{Micros, SEC};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::VecDeque;

/// One closed interval of the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Point {
    pub t_ms: u64,
    pub produced: u64,
    pub acked: u64,
    pub acked_bytes: u64,
    pub produce_p50_us: u64,
    pub produce_p99_us: u64,
    pub produce_p999_us: u64,
    pub failed: u64,
    pub consumed: u64,
    pub e2e_p50_us: u64,
    pub e2e_p99_us: u64,
    pub under_replicated: u32,
    pub offline: u32,
    pub unavailable: u32,
    pub in_flight: u32,
    /// Consumer lag summed over all groups at the end of the interval.
    pub lag: u64,
    /// One per group with a processor (crate::ml), in group order; empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<crate::ml::ModelPoint>,
}

#[derive(Clone)]
pub struct Metrics {
    pub interval_us: Micros,
    pub max_points: usize,
    pub points: VecDeque<Point>,
    current_start: Micros,
    produced: u64,
    acked: u64,
    acked_bytes: u64,
    failed: u64,
    consumed: u64,
    interval_e2e: Histogram<u64>,
    /// Whole-run end-to-end latency (produce to delivery to the application).
    pub e2e_latency: Histogram<u64>,
    pub total_consumed: u64,
    interval_latency: Histogram<u64>,
    /// Whole-run produce latency, for p50/p99/p99.9 in the summary.
    pub produce_latency: Histogram<u64>,
    pub total_produced: u64,
    pub total_acked: u64,
}

fn new_histogram() -> Histogram<u64> {
    // 1 us .. 1 hour with 3 significant digits: fixed memory whatever the run length.
    Histogram::new_with_bounds(1, 3_600 * SEC, 3).expect("static histogram bounds are valid")
}

impl Metrics {
    pub fn new(interval_us: Micros, max_points: usize) -> Metrics {
        Metrics {
            interval_us,
            max_points,
            points: VecDeque::new(),
            current_start: 0,
            produced: 0,
            acked: 0,
            acked_bytes: 0,
            failed: 0,
            consumed: 0,
            interval_e2e: new_histogram(),
            e2e_latency: new_histogram(),
            total_consumed: 0,
            interval_latency: new_histogram(),
            produce_latency: new_histogram(),
            total_produced: 0,
            total_acked: 0,
        }
    }

    /// When the current interval ends.
    pub fn next_close(&self) -> Micros {
        self.current_start + self.interval_us
    }

    /// Closes every interval that ended at or before `now`, with no gauges (tests).
    pub fn advance(&mut self, now: Micros) {
        while now >= self.next_close() {
            self.close_interval(0, 0, 0, 0, 0);
        }
    }

    /// Closes the current interval with the cluster gauges sampled at its end.
    pub fn close_interval(&mut self, under_replicated: u32, offline: u32, unavailable: u32, in_flight: u32, lag: u64) {
        {
            let h = &self.interval_latency;
            let q = |x: f64| if h.is_empty() { 0 } else { h.value_at_quantile(x) };
            let p = Point {
                t_ms: (self.current_start + self.interval_us) / 1_000,
                produced: self.produced,
                acked: self.acked,
                acked_bytes: self.acked_bytes,
                produce_p50_us: q(0.5),
                produce_p99_us: q(0.99),
                produce_p999_us: q(0.999),
                failed: self.failed,
                consumed: self.consumed,
                e2e_p50_us: if self.interval_e2e.is_empty() {
                    0
                } else {
                    self.interval_e2e.value_at_quantile(0.5)
                },
                e2e_p99_us: if self.interval_e2e.is_empty() {
                    0
                } else {
                    self.interval_e2e.value_at_quantile(0.99)
                },
                under_replicated,
                offline,
                unavailable,
                in_flight,
                lag,
                models: Vec::new(),
            };
            if self.points.len() == self.max_points {
                self.points.pop_front();
            }
            self.points.push_back(p);
            self.current_start += self.interval_us;
            self.produced = 0;
            self.acked = 0;
            self.acked_bytes = 0;
            self.failed = 0;
            self.consumed = 0;
            self.interval_latency.reset();
            self.interval_e2e.reset();
        }
    }

    /// Records handed to a consumer application, with their produce-to-consume latency.
    pub fn record_consumed(&mut self, records: u64, latency_us: Micros) {
        self.consumed += records;
        self.total_consumed += records;
        let v = latency_us.clamp(1, 3_600 * SEC);
        let _ = self.interval_e2e.record_n(v, records);
        let _ = self.e2e_latency.record_n(v, records);
    }

    pub fn e2e_quantile_us(&self, q: f64) -> u64 {
        if self.e2e_latency.is_empty() {
            0
        } else {
            self.e2e_latency.value_at_quantile(q)
        }
    }

    pub fn record_failed(&mut self, records: u64) {
        self.failed += records;
    }

    pub fn record_produced(&mut self, records: u64) {
        self.produced += records;
        self.total_produced += records;
    }

    pub fn record_acked(&mut self, records: u64, bytes: u64, latency_us: Micros) {
        self.acked += records;
        self.acked_bytes += bytes;
        self.total_acked += records;
        let v = latency_us.max(1);
        // Values beyond the histogram's bound are clamped rather than dropped.
        let _ = self.interval_latency.record_n(v.min(3_600 * SEC), records);
        let _ = self.produce_latency.record_n(v.min(3_600 * SEC), records);
    }

    pub fn produce_quantile_us(&self, q: f64) -> u64 {
        if self.produce_latency.is_empty() {
            0
        } else {
            self.produce_latency.value_at_quantile(q)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_close_and_stay_bounded() {
        let mut m = Metrics::new(SEC, 3);
        for s in 0..10u64 {
            m.record_produced(s);
            m.advance((s + 1) * SEC);
        }
        assert_eq!(m.points.len(), 3);
        assert_eq!(m.points.back().unwrap().produced, 9);
        assert_eq!(m.points.back().unwrap().t_ms, 10_000);
        assert_eq!(m.total_produced, 45);
    }
}
