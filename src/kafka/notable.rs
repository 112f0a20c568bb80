//! Notable events, kept as data so the UI can render them in any language: each
//! is a `Template` (an English template and its values, which the page
//! translates by the template), and `describe()` is the English text. Nodes
//! report them as observations and the engine keeps them in the event log.

use crate::i18n::{fill, Catalog, Template, Translate};
use crate::sim::Node;

#[derive(Debug, Clone, PartialEq)]
pub enum Notable {
    /// A fault or command, in plain words ("kill broker {0}"): its template and values.
    Action {
        template: &'static str,
        args: Vec<String>,
    },
    BrokerFenced {
        broker: u32,
        silent_ms: u64,
    },
    BrokerUnfenced {
        broker: u32,
    },
    BrokerRegistered {
        broker: u32,
    },
    LeaderChange {
        topic: String,
        partition: u32,
        from: Option<u32>,
        to: Option<u32>,
        epoch: i32,
        kind: ElectionKind,
    },
    IsrChange {
        topic: String,
        partition: u32,
        from: Vec<u32>,
        to: Vec<u32>,
    },
    /// The eligible leader replicas (KIP-966) changed.
    ElrChange {
        topic: String,
        partition: u32,
        from: Vec<u32>,
        to: Vec<u32>,
    },
    Truncated {
        topic: String,
        partition: u32,
        broker: u32,
        from: u64,
        to: u64,
    },
    ControllerElected {
        controller: u32,
        epoch: u32,
    },
    ControllerLost {
        controller: u32,
    },
    QuorumLost,
    ControlledShutdownDone {
        broker: u32,
    },
    ProducerError {
        producer: String,
        error: &'static str,
        partitions: u32,
    },
    ProducerEpochBumped {
        producer: String,
        epoch: u16,
        topic: String,
        partition: u32,
    },
    Dropped {
        from: Node,
        to: Node,
    },
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionKind {
    Clean,
    Unclean,
    Preferred,
    ControlledShutdown,
    Offline,
    /// From the eligible leader replicas, the ISR being empty (KIP-966): clean.
    Elr,
    /// The last known leader, ISR and ELR being empty: counted as unclean.
    LastKnownLeader,
}

impl Notable {
    /// The English text.
    pub fn describe(&self) -> String {
        let (template, args) = self.template();
        fill(template, &args)
    }
}

impl Template for Notable {
    fn template(&self) -> (&'static str, Vec<String>) {
        let b = |x: Option<u32>| x.map_or("none".to_string(), |v| v.to_string());
        let s = |v: &dyn ToString| v.to_string();
        match self {
            Notable::Action { template, args } => (template, args.clone()),
            Notable::BrokerFenced { broker, silent_ms } => (
                "broker {0} fenced after {1} s without heartbeat",
                vec![s(broker), format!("{:.1}", *silent_ms as f64 / 1000.0)],
            ),
            Notable::BrokerUnfenced { broker } => ("broker {0} unfenced: caught up with metadata", vec![s(broker)]),
            Notable::BrokerRegistered { broker } => ("broker {0} registered with the controller", vec![s(broker)]),
            Notable::LeaderChange {
                topic,
                partition,
                from,
                to,
                epoch,
                kind,
            } => {
                let how = match kind {
                    ElectionKind::Clean => "clean election",
                    ElectionKind::Unclean => "UNCLEAN election",
                    ElectionKind::Preferred => "preferred leader election",
                    ElectionKind::ControlledShutdown => "controlled shutdown",
                    ElectionKind::Offline => "no ISR replica alive: offline",
                    ElectionKind::Elr => "from the eligible leader replicas, ISR empty",
                    ElectionKind::LastKnownLeader => "last known leader, ISR and ELR empty: counted as unclean",
                };
                (
                    "partition {0} leader {1} -> {2}, epoch {3} ({4})",
                    vec![format!("{topic}-{partition}"), b(*from), b(*to), s(epoch), how.to_string()],
                )
            }
            Notable::IsrChange { topic, partition, from, to } => (
                "partition {0} ISR {1} -> {2}",
                vec![format!("{topic}-{partition}"), format!("{from:?}"), format!("{to:?}")],
            ),
            Notable::ElrChange { topic, partition, from, to } => (
                "partition {0} eligible leader replicas (ELR) {1} -> {2}",
                vec![format!("{topic}-{partition}"), format!("{from:?}"), format!("{to:?}")],
            ),
            Notable::Truncated {
                topic,
                partition,
                broker,
                from,
                to,
            } => (
                "broker {0} truncated {1} from offset {2} to {3} (divergent suffix)",
                vec![s(broker), format!("{topic}-{partition}"), s(from), s(to)],
            ),
            Notable::ControllerElected { controller, epoch } => ("controller c{0} is active (epoch {1})", vec![s(controller), s(epoch)]),
            Notable::ControllerLost { controller } => ("active controller c{0} lost: election pending", vec![s(controller)]),
            Notable::QuorumLost => ("controller quorum has no majority: metadata frozen", vec![]),
            Notable::ControlledShutdownDone { broker } => ("broker {0} finished controlled shutdown", vec![s(broker)]),
            Notable::ProducerError { producer, error, partitions } => (
                "producer {0}: {1} on {2} partition(s)",
                vec![producer.clone(), error.to_string(), s(partitions)],
            ),
            Notable::ProducerEpochBumped {
                producer,
                epoch,
                topic,
                partition,
            } => (
                "producer {0} bumped its epoch to {1}: sequence numbers on {2} restart at 0",
                vec![producer.clone(), s(epoch), format!("{topic}-{partition}")],
            ),
            Notable::Dropped { from, to } => ("message {0} -> {1} dropped by a network cut", vec![s(from), s(to)]),
            // Free text from a node: translated by matching it against the templates.
            Notable::Text(t) => ("{0}", vec![t.clone()]),
        }
    }
}

/// `tr(&notable)`: the page translates an event by its template.
impl Translate for Notable {
    fn english(&self) -> String {
        self.describe()
    }
    fn translate(&self, catalog: &Catalog) -> String {
        catalog.tr_template(self)
    }
}
