//! Chart markers: every action applied so far (scenario, button, replay) and every
//! rebalance, run B's too side by side, with labels in the page's language and
//! close repeats of one label merged into one marker ("set consumer rate ×3").

use super::rebalance_history;
use crate::i18n::{tr, trf};
use crate::sim::SortSmall;
use crate::Simulation;

/// A chart marker in words: when, what, a rebalance (purple) or not (red), and
/// whether it is run B's (side by side).
#[derive(Debug, Clone, PartialEq)]
pub struct MarkerText {
    pub t_sec: f64,
    pub label: String,
    pub rebalance: bool,
    pub second: bool,
}

/// The markers up to run A's time: its actions (run B's are the same), then each
/// run's rebalances, merged by `merge_markers` over the time shown.
pub fn markers(sim: &Simulation, twin: Option<&Simulation>) -> Vec<MarkerText> {
    let now = sim.now_us();
    let mut out: Vec<MarkerText> = sim
        .actions()
        .iter()
        .filter(|a| a.at_us <= now)
        .map(|a| MarkerText {
            t_sec: a.at_us as f64 / 1e6,
            label: tr(&a.action.name().replace('_', " ")),
            rebalance: false,
            second: false,
        })
        .collect();
    for (run, second) in std::iter::once((sim, false)).chain(twin.map(|b| (b, true))) {
        for (group, _, history) in rebalance_history(run) {
            for r in history.iter().filter(|r| r.started_us <= now) {
                let label = if second {
                    trf("B: rebalance {0}", &[group])
                } else {
                    trf("rebalance {0}", &[group])
                };
                out.push(MarkerText {
                    t_sec: r.started_us as f64 / 1e6,
                    label,
                    rebalance: true,
                    second,
                });
            }
        }
    }
    merge_markers(out, now as f64 / 1e6)
}

/// Markers with the same label closer than 3% of the `span` shown (half a second
/// at least) become one ("set consumer rate ×3"), so their labels do not print
/// over each other. The result is in time order.
pub fn merge_markers(mut m: Vec<MarkerText>, span: f64) -> Vec<MarkerText> {
    m.sort_small_by(|a, b| a.t_sec.total_cmp(&b.t_sec));
    let near = (span * 0.03).max(0.5);
    // Each kept marker with how many it stands for and the time of the last one.
    let mut out: Vec<(MarkerText, u32, f64)> = Vec::new();
    for mk in m {
        match out.iter_mut().rev().find(|o| o.0.label == mk.label && mk.t_sec - o.2 <= near) {
            Some(o) => {
                o.1 += 1;
                o.2 = mk.t_sec;
            }
            None => {
                let t = mk.t_sec;
                out.push((mk, 1, t));
            }
        }
    }
    out.into_iter()
        .map(|(mut mk, n, _)| {
            if n > 1 {
                mk.label = format!("{} ×{n}", mk.label);
            }
            mk
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk(t_sec: f64, label: &str) -> MarkerText {
        MarkerText {
            t_sec,
            label: label.into(),
            rebalance: false,
            second: false,
        }
    }

    #[test]
    fn close_repeats_of_a_label_merge_and_others_stay() {
        let m = merge_markers(
            vec![
                mk(10.2, "kill broker"),
                mk(10.0, "kill broker"),
                mk(10.1, "heal network"),
                mk(30.0, "kill broker"),
            ],
            60.0,
        );
        let got: Vec<(f64, &str)> = m.iter().map(|m| (m.t_sec, m.label.as_str())).collect();
        // 3% of 60 s is 1.8 s: the two kills at 10 s merge, the one at 30 s does not.
        assert_eq!(got, vec![(10.0, "kill broker ×2"), (10.1, "heal network"), (30.0, "kill broker")]);
    }

    #[test]
    fn a_chain_of_close_repeats_merges_into_one() {
        // Each is close to the previous one, though the last is far from the first.
        let m = merge_markers((0..5).map(|i| mk(f64::from(i) * 0.4, "set consumer rate")).collect(), 10.0);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].label, "set consumer rate ×5");
    }
}
