//! The fraud scorer: online logistic regression trained by SGD on labels as they
//! arrive (on their own topic, later than the transactions), scoring every
//! transaction when a member processes it. Evaluation is prequential: a
//! transaction is scored before the model has seen its label, and the ground
//! truth (known to the generator) is compared with that score.

use super::workload::Transaction;
use crate::sim::{Micros, SEC};
use hdrhistogram::Histogram;
use std::collections::VecDeque;

pub const FEATURES: usize = 14;
/// Score buckets on the logit scale, for a windowed AUC in constant memory.
const BINS: usize = 128;
const LOGIT_MIN: f64 = -16.0;
const BIN_WIDTH: f64 = 0.25;
/// The sliding window of AUC, precision and recall, in seconds of scoring time.
pub const WINDOW_SECS: u64 = 30;
/// A transaction whose fraud probability reaches this is alerted on.
pub const ALERT_THRESHOLD: f64 = 0.5;
const LEARNING_RATE: f64 = 0.05;
const L2: f64 = 1e-5;

pub fn features(t: &Transaction) -> [f64; FEATURES] {
    let mut x = [0.0; FEATURES];
    let ratio = t.amount / t.typical_amount;
    x[0] = 1.0;
    x[1] = (libm::log(ratio) / 2.0).clamp(-2.0, 3.0);
    x[2] = libm::log(t.amount.max(1.0)) / 6.0;
    x[3] = f64::from(u8::from(t.country != t.home_country));
    x[4] = f64::from(u8::from(t.usual_categories & (1 << t.category) == 0));
    x[5] = f64::from(u8::from(t.hour < 6));
    x[6 + t.category as usize] = 1.0;
    x
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + libm::exp(-z))
}

/// Per second of scoring time: score histograms by class, and alert outcomes.
#[derive(Debug, Clone)]
struct Bucket {
    second: u64,
    pos: Box<[u32; BINS]>,
    neg: Box<[u32; BINS]>,
    tp: u64,
    fp: u64,
    fn_: u64,
}

#[derive(Debug, Clone)]
pub struct FraudModel {
    w: [f64; FEATURES],
    pub trained: u64,
    pub trained_fraud: u64,
    pub alerts: u64,
    /// First scorings (distinct transactions) and their outcome at the alert threshold.
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
    pub tn: u64,
    window: VecDeque<Bucket>,
    /// Fraud transaction produced to alert, first scorings only.
    pub detection: Histogram<u64>,
    interval_detection: Histogram<u64>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600 * SEC, 2).expect("static histogram bounds are valid")
}

impl Default for FraudModel {
    fn default() -> Self {
        FraudModel {
            // The bias starts at the base rate's logit, ln(0.02 / 0.98): before any label
            // arrives the model alerts on nothing rather than on everything.
            w: std::array::from_fn(|i| if i == 0 { -3.89 } else { 0.0 }),
            trained: 0,
            trained_fraud: 0,
            alerts: 0,
            tp: 0,
            fp: 0,
            fn_: 0,
            tn: 0,
            window: VecDeque::new(),
            detection: histogram(),
            interval_detection: histogram(),
        }
    }
}

impl FraudModel {
    pub fn logit(&self, x: &[f64; FEATURES]) -> f64 {
        self.w.iter().zip(x).map(|(w, x)| w * x).sum()
    }

    /// One SGD step on a labelled transaction (log loss, light L2).
    pub fn train(&mut self, x: &[f64; FEATURES], fraud: bool) {
        let y = if fraud { 1.0 } else { 0.0 };
        let g = sigmoid(self.logit(x)) - y;
        for (w, xi) in self.w.iter_mut().zip(x) {
            *w -= LEARNING_RATE * (g * xi + L2 * *w);
        }
        self.trained += 1;
        self.trained_fraud += u64::from(fraud);
    }

    /// Scores a transaction at `at` (its processing time); returns whether to alert.
    /// `first` is false for a re-scoring (after a crash or a rebalance): it alerts
    /// again, as the application would, but does not count twice in the quality metrics.
    pub fn score(&mut self, x: &[f64; FEATURES], fraud: bool, first: bool, at: Micros, created: Micros) -> bool {
        let z = self.logit(x);
        let alert = sigmoid(z) >= ALERT_THRESHOLD;
        self.alerts += u64::from(alert);
        if !first {
            return alert;
        }
        match (alert, fraud) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => self.tn += 1,
        }
        if alert && fraud {
            let latency = at.saturating_sub(created).clamp(1, 3_600 * SEC);
            let _ = self.detection.record(latency);
            let _ = self.interval_detection.record(latency);
        }
        let second = at / SEC;
        if self.window.back().is_none_or(|b| b.second < second) {
            self.window.push_back(Bucket {
                second,
                pos: Box::new([0; BINS]),
                neg: Box::new([0; BINS]),
                tp: 0,
                fp: 0,
                fn_: 0,
            });
            while self.window.front().is_some_and(|b| b.second + WINDOW_SECS <= second) {
                self.window.pop_front();
            }
        }
        // Processing times of one poll may run a little ahead; they land in the newest bucket.
        let b = self.window.back_mut().expect("pushed above");
        let bin = (((z - LOGIT_MIN) / BIN_WIDTH).max(0.0) as usize).min(BINS - 1);
        if fraud {
            b.pos[bin] += 1;
        } else {
            b.neg[bin] += 1;
        }
        match (alert, fraud) {
            (true, true) => b.tp += 1,
            (true, false) => b.fp += 1,
            (false, true) => b.fn_ += 1,
            _ => {}
        }
        alert
    }

    /// AUC over the last `WINDOW_SECS` of scoring (Mann-Whitney, ties count half);
    /// None until both classes were scored in the window.
    pub fn window_auc(&self) -> Option<f64> {
        let mut pos = [0u64; BINS];
        let mut neg = [0u64; BINS];
        for b in &self.window {
            for i in 0..BINS {
                pos[i] += u64::from(b.pos[i]);
                neg[i] += u64::from(b.neg[i]);
            }
        }
        let (np, nn): (u64, u64) = (pos.iter().sum(), neg.iter().sum());
        if np == 0 || nn == 0 {
            return None;
        }
        let mut below = 0u64;
        let mut wins = 0.0;
        for i in 0..BINS {
            wins += pos[i] as f64 * (below as f64 + neg[i] as f64 / 2.0);
            below += neg[i];
        }
        Some(wins / (np as f64 * nn as f64))
    }

    /// (precision, recall) over the window; None when undefined.
    pub fn window_precision_recall(&self) -> (Option<f64>, Option<f64>) {
        let (tp, fp, fn_) = self.window.iter().fold((0, 0, 0), |a, b| (a.0 + b.tp, a.1 + b.fp, a.2 + b.fn_));
        (ratio(tp, tp + fp), ratio(tp, tp + fn_))
    }

    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }

    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }

    pub fn detection_quantile_us(&self, q: f64) -> u64 {
        if self.detection.is_empty() {
            0
        } else {
            self.detection.value_at_quantile(q)
        }
    }

    /// (p50, p99) of this interval's detections, then starts a new interval.
    pub fn take_interval_detection(&mut self) -> (u64, u64) {
        let h = &self.interval_detection;
        let out = if h.is_empty() {
            (0, 0)
        } else {
            (h.value_at_quantile(0.5), h.value_at_quantile(0.99))
        };
        self.interval_detection.reset();
        out
    }
}

pub(crate) fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::workload::transaction;

    #[test]
    fn sgd_learns_the_generated_patterns() {
        let users: Vec<u32> = (0..500).collect();
        let mut m = FraudModel::default();
        for s in 0..40_000u64 {
            let t = transaction(9, 0, 0, s, &users);
            let x = features(&t);
            m.score(&x, t.fraud, true, s * 500, s * 500);
            m.train(&x, t.fraud);
        }
        let auc = m.window_auc().expect("both classes scored");
        assert!(auc > 0.85, "auc {auc}");
    }
}
