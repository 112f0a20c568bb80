//! Streaming ML on the simulated cluster (issue 8): seeded workloads
//! (`transactions`, `user_behavior`), processors that consumer groups run on
//! each record they poll (`fraud_lr`, `item_cf`), labels arriving late on
//! `transaction_labels`, alerts written to `fraud_alerts`, and the metrics that
//! join model quality with what the cluster did (lag, crashes, rebalances).
//!
//! Nothing here runs, draws randomness or schedules events unless a scenario
//! names a workload or a processor, so other scenarios replay unchanged. Model
//! arithmetic is f64 `+ - * /` and `libm`, identical natively and in wasm.

pub mod fraud;
pub mod recsys;
pub mod workload;

use crate::kafka::obs::Delivery;
use crate::kafka::types::Cluster;
use crate::scenario::workloads::{alerts_id, labels_id, transactions_topic, ALERTS_TOPIC, DEFAULT_LABEL_DELAY_MS, LABELS_TOPIC};
use crate::scenario::{GroupConfig, ProcessorKind, ProducerConfig, Scenario, TopicConfig, Workload};
use crate::sim::{Micros, SEC};
use fraud::FraudModel;
use recsys::RecModel;
use serde::Serialize;
use std::borrow::Cow;

/// How much of a partition's stream one user session of `user_behavior` spans, in seconds at the configured rate.
const SESSION_SECS: u64 = 60;

fn default_cost_us(kind: ProcessorKind) -> u64 {
    match kind {
        ProcessorKind::FraudLr => 20,
        ProcessorKind::ItemCf => 100,
    }
}

fn internal_producer(id: String, topic: &str, like: Option<&ProducerConfig>, keys: u32, workload: Workload) -> ProducerConfig {
    ProducerConfig {
        id,
        topic: topic.to_string(),
        records_per_sec: 0,
        record_bytes: 64,
        keys,
        linger_ms: like.map_or(5, |p| p.linger_ms),
        workload: Some(workload),
        ..ProducerConfig::default()
    }
}

/// The scenario as the engine runs it: with a transactions workload, the
/// `transaction_labels` and `fraud_alerts` topics (like the transactions topic),
/// one labels producer per transactions producer and one alerts producer per
/// fraud_lr group (all after the user's, so their indices do not move), and
/// fraud_lr groups subscribed to the labels. Idempotent; unchanged without workloads.
pub fn prepare(s: &Scenario) -> Cow<'_, Scenario> {
    let s = prepare_outputs(s);
    let Some(txn_topic) = transactions_topic(&s).cloned() else {
        return s;
    };
    let mut s = s.into_owned();
    for name in [LABELS_TOPIC, ALERTS_TOPIC] {
        if s.topic(name).is_none() {
            s.topics.push(TopicConfig {
                name: name.to_string(),
                ..txn_topic.clone()
            });
        }
    }
    let sources: Vec<ProducerConfig> = s.producers.iter().filter(|p| p.workload == Some(Workload::Transactions)).cloned().collect();
    for p in &sources {
        if !s.producers.iter().any(|o| o.id == labels_id(&p.id)) {
            s.producers
                .push(internal_producer(labels_id(&p.id), LABELS_TOPIC, Some(p), p.keys, Workload::Labels));
        }
    }
    let keys = sources.first().map_or(1, |p| p.keys);
    for g in 0..s.groups.len() {
        if s.groups[g].processor != Some(ProcessorKind::FraudLr) {
            continue;
        }
        if !s.groups[g].topics.iter().any(|t| t == LABELS_TOPIC) {
            s.groups[g].topics.push(LABELS_TOPIC.to_string());
        }
        // A processing group writes its scores itself (one per transaction).
        if s.groups[g].processing_guarantee.is_some() {
            continue;
        }
        let id = alerts_id(&s.groups[g].id);
        if !s.producers.iter().any(|o| o.id == id) {
            s.producers.push(internal_producer(id, ALERTS_TOPIC, sources.first(), keys, Workload::Alerts));
        }
    }
    Cow::Owned(s)
}

/// The output topic a processing group names by default (its processor's), made
/// like the group's first input topic when the scenario does not define it.
fn prepare_outputs(s: &Scenario) -> Cow<'_, Scenario> {
    let missing: Vec<(String, TopicConfig)> = s
        .groups
        .iter()
        .filter_map(|g| {
            let out = g.output()?;
            if s.topic(out).is_some() {
                return None;
            }
            let like = g.topics.iter().find_map(|t| s.topic(t))?;
            Some((out.to_string(), like.clone()))
        })
        .collect();
    if missing.is_empty() {
        return Cow::Borrowed(s);
    }
    let mut s = s.clone();
    for (name, like) in missing {
        if s.topic(&name).is_none() {
            s.topics.push(TopicConfig { name, ..like });
        }
    }
    Cow::Owned(s)
}

/// What a producer's records mean to a processor.
#[derive(Debug, Clone)]
enum Source {
    Plain,
    Transactions {
        users: Vec<Vec<u32>>,
    },
    UserBehavior {
        users: Vec<Vec<u32>>,
        session_records: u64,
    },
    /// Labels for the transactions of this producer index (same partition, same sequence).
    Labels {
        of: u32,
    },
}

#[derive(Debug, Clone)]
pub enum Model {
    Fraud(Box<FraudModel>),
    Rec(Box<RecModel>),
}

/// Per partition of the processed topic: how far the group has processed, and how
/// many distinct offsets below that it processed (the rest were skipped).
#[derive(Debug, Clone, Default)]
struct Coverage {
    upto: crate::sim::VecMap<u32, (u64, u64)>,
}

impl Coverage {
    /// Records [offset, offset + n) processed: returns how many were processed before.
    fn process(&mut self, pidx: u32, offset: u64, n: u64) -> u64 {
        let e = self.upto.get_or_insert_with(pidx, || (offset, 0));
        let again = e.0.saturating_sub(offset).min(n);
        e.0 = e.0.max(offset + n);
        e.1 += n - again;
        again
    }

    fn skipped(&self) -> u64 {
        self.upto.values().map(|&(upto, distinct)| upto.saturating_sub(distinct)).sum()
    }
}

#[derive(Debug, Clone)]
pub struct GroupModel {
    pub kind: ProcessorKind,
    pub model: Model,
    pub cost_us: u64,
    /// The producer index writing this group's alerts, and its topic's partition count.
    alerts_producer: Option<(u32, u32)>,
    coverage: Coverage,
    /// Records first processed, and processed again.
    pub scored: u64,
    pub rescored: u64,
    pub labels: u64,
}

/// The engine's ML state: empty (and inert) for scenarios without workloads.
#[derive(Debug, Clone, Default)]
pub struct MlState {
    pub active: bool,
    seed: u64,
    sources: Vec<Source>,
    pub groups: Vec<Option<GroupModel>>,
}

impl MlState {
    /// Per-record cost of a group's model, in microseconds (0 without a processor).
    pub fn cost_us(&self, g: u32) -> u64 {
        self.groups.get(g as usize).and_then(|m| m.as_ref()).map_or(0, |m| m.cost_us)
    }

    /// One point per model for the interval just closed.
    pub fn sample(&mut self) -> Vec<ModelPoint> {
        let mut out = Vec::new();
        for (g, m) in self.groups.iter_mut().enumerate() {
            let Some(m) = m else { continue };
            let mut p = ModelPoint {
                group: g as u32,
                scored: m.scored,
                rescored: m.rescored,
                ..ModelPoint::default()
            };
            match &mut m.model {
                Model::Fraud(f) => {
                    p.auc = f.window_auc();
                    (p.precision, p.recall) = f.window_precision_recall();
                    (p.detection_p50_us, p.detection_p99_us) = f.take_interval_detection();
                }
                Model::Rec(r) => (p.hit_rate, p.baseline_hit_rate) = r.window_hit_rates(),
            }
            out.push(p);
        }
        out
    }
}

/// One model's state at the end of a metrics interval (quality over a 30 s window).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelPoint {
    pub group: u32,
    pub auc: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    /// Detection latency of this interval's detected frauds (0 if none).
    pub detection_p50_us: u64,
    pub detection_p99_us: u64,
    pub hit_rate: Option<f64>,
    pub baseline_hit_rate: Option<f64>,
    pub scored: u64,
    pub rescored: u64,
}

/// A group's model for the snapshot (the UI) and the summary.
#[derive(Debug, Clone, Serialize)]
pub struct ModelView {
    pub processor: &'static str,
    pub model_cost_us: u64,
    pub scored: u64,
    pub rescored: u64,
    pub unscored: u64,
    /// fraud_lr
    pub auc: Option<f64>,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub detection_latency_ms_p50: Option<f64>,
    pub detection_latency_ms_p99: Option<f64>,
    pub alerts: Option<u64>,
    pub labels_trained: Option<u64>,
    /// item_cf
    pub hit_rate_at_10: Option<f64>,
    pub baseline_hit_rate_at_10: Option<f64>,
    pub recommendations: Option<u64>,
}

impl GroupModel {
    pub fn view(&self) -> ModelView {
        let mut v = ModelView {
            processor: self.kind.as_str(),
            model_cost_us: self.cost_us,
            scored: self.scored,
            rescored: self.rescored,
            unscored: self.coverage.skipped(),
            auc: None,
            precision: None,
            recall: None,
            detection_latency_ms_p50: None,
            detection_latency_ms_p99: None,
            alerts: None,
            labels_trained: None,
            hit_rate_at_10: None,
            baseline_hit_rate_at_10: None,
            recommendations: None,
        };
        match &self.model {
            Model::Fraud(f) => {
                v.auc = f.window_auc();
                v.precision = f.precision();
                v.recall = f.recall();
                v.detection_latency_ms_p50 = Some(f.detection_quantile_us(0.5) as f64 / 1000.0);
                v.detection_latency_ms_p99 = Some(f.detection_quantile_us(0.99) as f64 / 1000.0);
                v.alerts = Some(f.alerts);
                v.labels_trained = Some(f.trained);
            }
            Model::Rec(r) => {
                v.hit_rate_at_10 = r.hit_rate();
                v.baseline_hit_rate_at_10 = r.baseline_hit_rate();
                v.recommendations = Some(r.recommendations);
            }
        }
        v
    }

    /// The `model` object of `kafka-sim run` (a contract: the names of issue 8).
    pub fn summary(&self) -> serde_json::Value {
        let v = self.view();
        match self.kind {
            ProcessorKind::FraudLr => serde_json::json!({
                "auc": v.auc,
                "precision": v.precision,
                "recall": v.recall,
                "detection_latency_ms_p50": v.detection_latency_ms_p50,
                "detection_latency_ms_p99": v.detection_latency_ms_p99,
                "scored": v.scored,
                "rescored": v.rescored,
                "unscored": v.unscored,
            }),
            ProcessorKind::ItemCf => serde_json::json!({
                "hit_rate_at_10": v.hit_rate_at_10,
                "recommendations": v.recommendations,
                "rescored": v.rescored,
            }),
        }
    }
}

/// The per-record cost of a group's model, microseconds (0 without a processor).
pub fn model_cost_us(g: &GroupConfig) -> u64 {
    g.processor.map_or(0, |kind| g.model_cost_us.unwrap_or(default_cost_us(kind)))
}

/// For each transactions producer (by index): its labels producer and the label delay.
pub fn label_sinks(s: &Scenario) -> Vec<(usize, u32, Micros)> {
    let mut out = Vec::new();
    for (i, p) in s.producers.iter().enumerate() {
        if p.workload == Some(Workload::Transactions) {
            if let Some(l) = s.producers.iter().position(|o| o.id == labels_id(&p.id)) {
                out.push((i, l as u32, p.label_delay_ms.unwrap_or(DEFAULT_LABEL_DELAY_MS) * crate::sim::MS));
            }
        }
    }
    out
}

impl MlState {
    /// The ML state of a scenario (as `prepare` made it): inert without workloads or processors.
    pub fn new(s: &Scenario, cluster: &Cluster) -> MlState {
        let uses = s.producers.iter().any(|p| p.workload.is_some()) || s.groups.iter().any(|g| g.processor.is_some());
        if !uses {
            return MlState::default();
        }
        let partitions_of = |topic: &str| cluster.topics.iter().find(|t| t.name == topic).map_or(1, |t| t.partitions);
        let mut sources = Vec::new();
        for p in &s.producers {
            let n = partitions_of(&p.topic);
            sources.push(match p.workload {
                Some(Workload::Transactions) => Source::Transactions {
                    users: workload::users_by_partition(p.keys, n),
                },
                Some(Workload::UserBehavior) => Source::UserBehavior {
                    users: workload::users_by_partition(p.keys, n),
                    session_records: (p.records_per_sec * SESSION_SECS / u64::from(n)).max(1),
                },
                Some(Workload::Labels) => {
                    let of = s
                        .producers
                        .iter()
                        .position(|t| t.workload == Some(Workload::Transactions) && labels_id(&t.id) == p.id);
                    of.map_or(Source::Plain, |of| Source::Labels { of: of as u32 })
                }
                _ => Source::Plain,
            });
        }
        let alerts_partitions = partitions_of(ALERTS_TOPIC);
        let groups = s
            .groups
            .iter()
            .map(|g| {
                let kind = g.processor?;
                Some(GroupModel {
                    kind,
                    model: match kind {
                        ProcessorKind::FraudLr => Model::Fraud(Box::default()),
                        ProcessorKind::ItemCf => Model::Rec(Box::default()),
                    },
                    cost_us: model_cost_us(g),
                    alerts_producer: s.producers.iter().position(|p| p.id == alerts_id(&g.id)).map(|i| (i as u32, alerts_partitions)),
                    coverage: Coverage::default(),
                    scored: 0,
                    rescored: 0,
                    labels: 0,
                })
            })
            .collect();
        MlState {
            active: true,
            seed: s.seed,
            sources,
            groups,
        }
    }

    /// The application's work on records a member polled: score, train, recommend,
    /// alert. Record k of a poll is processed at now + (k + 1) * the per-record time.
    /// Alerts go to `alert(producer index, at, partition, records)`.
    pub(crate) fn process(&mut self, cluster: &Cluster, now: Micros, d: &Delivery, mut alert: impl FnMut(u32, Micros, u32, u64)) {
        let Some(Some(gm)) = self.groups.get_mut(d.group as usize) else { return };
        let per_record = SEC / d.rate.max(1) + gm.cost_us;
        let producer = d.producer_instance >> 16;
        let Some(source) = self.sources.get(producer as usize) else { return };
        let part = cluster.part(d.pidx).index;
        let seed = self.seed;
        let created = |j: u64| d.created_from + d.created_to.saturating_sub(d.created_from) * j / d.records.max(1);
        let at = |j: u64| now + (d.index_in_poll + j + 1) * per_record;
        match (source, &mut gm.model) {
            (Source::Transactions { users }, Model::Fraud(m)) => {
                let again = gm.coverage.process(d.pidx, d.offset, d.records);
                gm.scored += d.records - again;
                gm.rescored += again;
                let users = &users[part as usize % users.len().max(1)];
                let mut alerts: Vec<(Micros, u64)> = Vec::new();
                for j in 0..d.records {
                    let t = workload::transaction(seed, producer, part, d.audit_seq + j, users);
                    let x = fraud::features(&t);
                    if m.score(&x, t.fraud, j >= again, at(j), created(j)) {
                        match alerts.last_mut() {
                            Some(a) if a.0 == at(j) => a.1 += 1,
                            _ => alerts.push((at(j), 1)),
                        }
                    }
                }
                if let Some((a, partitions)) = gm.alerts_producer {
                    let target = part % partitions.max(1);
                    for (t, n) in alerts {
                        alert(a, t, target, n);
                    }
                }
            }
            (Source::Labels { of }, Model::Fraud(m)) => {
                let Some(Source::Transactions { users }) = self.sources.get(*of as usize) else {
                    return;
                };
                let users = &users[part as usize % users.len().max(1)];
                gm.labels += d.records;
                for j in 0..d.records {
                    let t = workload::transaction(seed, *of, part, d.audit_seq + j, users);
                    m.train(&fraud::features(&t), t.fraud);
                }
            }
            (Source::UserBehavior { users, session_records }, Model::Rec(m)) => {
                let again = gm.coverage.process(d.pidx, d.offset, d.records);
                gm.scored += d.records - again;
                gm.rescored += again;
                let users = &users[part as usize % users.len().max(1)];
                for j in 0..d.records {
                    let e = workload::behavior(seed, producer, part, d.audit_seq + j, users, *session_records);
                    m.process(&e, j >= again, at(j), created(j));
                }
            }
            _ => {}
        }
    }

    /// The processor of each group that has one, by group index.
    pub fn models(&self) -> impl Iterator<Item = (usize, &GroupModel)> + '_ {
        self.groups.iter().enumerate().filter_map(|(i, m)| m.as_ref().map(|m| (i, m)))
    }

    pub fn model_view(&self, g: usize) -> Option<ModelView> {
        self.groups.get(g).and_then(|m| m.as_ref()).map(|m| m.view())
    }
}
