//! Side by side: what run B is, the settings in which it differs from run A,
//! and the numbers of the comparison table, one row per measure for run A and run B.

use super::rebalance_history;
use crate::lesson::Text;
use crate::{Scenario, Simulation};
use serde_json::Value;

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

/// A setting in which run B's scenario differs from run A's: its path into the
/// scenario JSON ("groups.0.assignor") and each run's value, as JSON text
/// (strings without quotes; "none" where a run leaves it unset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub path: String,
    pub a: String,
    pub b: String,
}

/// Every setting in which `b` differs from `a`, in the scenario file's order.
pub fn differences(a: &Scenario, b: &Scenario) -> Vec<Difference> {
    let (Ok(va), Ok(vb)) = (serde_json::to_value(a), serde_json::to_value(b)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    diff(&mut out, String::new(), &va, &vb);
    out
}

fn diff(out: &mut Vec<Difference>, path: String, a: &Value, b: &Value) {
    let child = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().collect();
            keys.extend(y.keys().filter(|k| !x.contains_key(*k)));
            for k in keys {
                diff(out, child(k), x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null));
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(out, child(&i.to_string()), p, q);
            }
        }
        _ if a == b => {}
        _ => out.push(Difference {
            path,
            a: words(a),
            b: words(b),
        }),
    }
}

fn words(v: &Value) -> String {
    match v {
        Value::Null => "none".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_each_changed_setting_with_both_values() {
        let a = Scenario::from_json(crate::presets::find("orders").unwrap().json).unwrap();
        let b = crate::scenario::draft::variant(&a, "eager").unwrap();
        assert_eq!(
            differences(&a, &b),
            vec![Difference {
                path: "groups.0.assignor".into(),
                a: "cooperative-sticky".into(),
                b: "range".into()
            }]
        );
        assert!(differences(&a, &a).is_empty());
    }
}
