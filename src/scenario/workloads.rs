//! The streaming-ML workloads a scenario may name (issue 8): their topics and
//! internal producers, and the checks on their settings. The models themselves
//! live in `crate::ml`.

use super::{ProcessorKind, Scenario, ScenarioError, TopicConfig, Workload};

pub const LABELS_TOPIC: &str = "transaction_labels";
pub const ALERTS_TOPIC: &str = "fraud_alerts";
/// Where an item_cf processing group writes, unless it names another topic.
pub const RECOMMENDATIONS_TOPIC: &str = "recommendations";
pub const DEFAULT_LABEL_DELAY_MS: u64 = 5_000;

pub(crate) fn labels_id(p: &str) -> String {
    format!("{p}-labels")
}

pub(crate) fn alerts_id(g: &str) -> String {
    format!("{g}-alerts")
}

/// Topics the engine creates for a scenario that needs them (so a group may name them).
pub fn auto_topic(s: &Scenario, name: &str) -> bool {
    let txns = s.producers.iter().any(|p| p.workload == Some(Workload::Transactions));
    let behavior = s.producers.iter().any(|p| p.workload == Some(Workload::UserBehavior));
    (txns && (name == LABELS_TOPIC || name == ALERTS_TOPIC)) || (behavior && name == RECOMMENDATIONS_TOPIC)
}

pub(crate) fn transactions_topic(s: &Scenario) -> Option<&TopicConfig> {
    s.producers
        .iter()
        .find(|p| p.workload == Some(Workload::Transactions))
        .and_then(|p| s.topic(&p.topic))
}

/// Checks workloads and processors: one line per problem.
pub fn validate(s: &Scenario) -> Result<(), ScenarioError> {
    use ScenarioError as E;
    let txn_topic = transactions_topic(s).map(|t| t.name.clone());
    for p in &s.producers {
        let producer = || p.id.clone();
        match p.workload {
            Some(Workload::Transactions) | Some(Workload::UserBehavior) => {
                let workload = if p.workload == Some(Workload::Transactions) {
                    "transactions"
                } else {
                    "user_behavior"
                };
                if p.keys == 0 {
                    return Err(E::WorkloadNeedsKeys {
                        producer: producer(),
                        workload,
                    });
                }
                if p.workload == Some(Workload::Transactions) && txn_topic.as_deref() != Some(p.topic.as_str()) {
                    return Err(E::TransactionsTopics {
                        producer: producer(),
                        topic: txn_topic.unwrap_or_default(),
                    });
                }
            }
            Some(Workload::Labels) => {
                let ok = s
                    .producers
                    .iter()
                    .any(|t| t.workload == Some(Workload::Transactions) && labels_id(&t.id) == p.id);
                if !ok || p.topic != LABELS_TOPIC {
                    return Err(E::InternalWorkload {
                        producer: producer(),
                        workload: "labels",
                    });
                }
            }
            Some(Workload::Alerts) => {
                let ok = s.groups.iter().any(|g| g.processor == Some(ProcessorKind::FraudLr) && alerts_id(&g.id) == p.id);
                if !ok || p.topic != ALERTS_TOPIC {
                    return Err(E::InternalWorkload {
                        producer: producer(),
                        workload: "alerts",
                    });
                }
            }
            None => {}
        }
        if p.label_delay_ms.is_some() && p.workload != Some(Workload::Transactions) {
            return Err(E::LabelDelayWorkload { producer: producer() });
        }
        if let Some(d) = p.label_delay_ms.filter(|&d| d > 3_600_000) {
            return Err(E::LabelDelay {
                producer: producer(),
                label_delay_ms: d,
            });
        }
        if p.workload == Some(Workload::Transactions) && s.producers.iter().any(|o| o.id == labels_id(&p.id) && o.workload != Some(Workload::Labels)) {
            return Err(E::LabelsIdTaken {
                producer: producer(),
                id: labels_id(&p.id),
            });
        }
    }
    if let (Some(t), Some(l)) = (transactions_topic(s), s.topic(LABELS_TOPIC)) {
        if t.partitions != l.partitions {
            return Err(E::LabelsPartitions {
                topic: t.name.clone(),
                partitions: t.partitions,
                labels_partitions: l.partitions,
            });
        }
    }
    for g in &s.groups {
        let group = || g.id.clone();
        if g.model_cost_us.is_some() && g.processor.is_none() {
            return Err(E::ModelCostNeedsProcessor { group: group() });
        }
        if let Some(c) = g.model_cost_us.filter(|&c| c > 1_000_000) {
            return Err(E::ModelCost {
                group: group(),
                model_cost_us: c,
            });
        }
        let Some(kind) = g.processor else { continue };
        let needs = match kind {
            ProcessorKind::FraudLr => Workload::Transactions,
            ProcessorKind::ItemCf => Workload::UserBehavior,
        };
        let fed = s.producers.iter().any(|p| p.workload == Some(needs) && g.topics.contains(&p.topic));
        if !fed {
            let workload = if needs == Workload::Transactions { "transactions" } else { "user_behavior" };
            return Err(E::ProcessorNotFed {
                group: group(),
                processor: kind,
                workload,
            });
        }
        if kind == ProcessorKind::FraudLr && s.producers.iter().any(|p| p.id == alerts_id(&g.id) && p.workload != Some(Workload::Alerts)) {
            return Err(E::AlertsIdTaken {
                group: group(),
                id: alerts_id(&g.id),
            });
        }
    }
    Ok(())
}
