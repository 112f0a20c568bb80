//! Side by side: what run B is, and the numbers of the comparison table, one
//! row per measure for run A and run B.

use super::rebalance_history;
use crate::lesson::Text;
use crate::Simulation;

/// What the second run of a comparison is.
#[derive(Debug, Clone, PartialEq)]
pub enum TwinOf {
    /// The scenario with one setting changed (an id of `scenario::draft::VARIANTS`).
    Variant(String),
    /// A lesson's own comparison, with the lesson's names for run A and run B.
    Lesson(Text, Text),
}

/// The comparison table's rows, in English (the page translates them).
pub const COMPARE_HEADINGS: [&str; 7] = [
    "acknowledged records",
    "acknowledged records lost",
    "duplicates stored",
    "consumer lag",
    "rebalances",
    "partitions revoked",
    "paused partition-ms",
];

/// One run's column of the comparison table, in the order of `COMPARE_HEADINGS`.
pub fn numbers(sim: &Simulation) -> [String; 7] {
    let audit = sim.audit_report();
    let snap = sim.snapshot();
    let (mut revoked, mut paused, mut rebalances) = (0u64, 0u64, 0usize);
    for (_, total, history) in rebalance_history(sim) {
        rebalances += total;
        for r in history {
            revoked += u64::from(r.revoked_partitions);
            paused += r.paused_partition_us;
        }
    }
    [
        sim.metrics().total_acked.to_string(),
        audit.lost.to_string(),
        audit.duplicates.to_string(),
        snap.groups.iter().map(|g| g.lag).sum::<u64>().to_string(),
        rebalances.to_string(),
        revoked.to_string(),
        format!("{:.0}", paused as f64 / 1000.0),
    ]
}

/// A row of the comparison table.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRow {
    pub heading: &'static str,
    pub a: String,
    pub b: String,
}

impl CompareRow {
    /// The page marks the rows where the two runs differ.
    pub fn differs(&self) -> bool {
        self.a != self.b
    }
}

/// The comparison table of run A and run B.
pub fn comparison(a: &Simulation, b: &Simulation) -> Vec<CompareRow> {
    let (ra, rb) = (numbers(a), numbers(b));
    COMPARE_HEADINGS
        .iter()
        .zip(ra.into_iter().zip(rb))
        .map(|(&heading, (a, b))| CompareRow { heading, a, b })
        .collect()
}
