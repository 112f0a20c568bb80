//! Notable events, kept as data so the UI can render them in any language;
//! `describe()` gives the English text. Nodes report them as observations and
//! the engine keeps them in the event log.

use crate::sim::Node;

#[derive(Debug, Clone, PartialEq)]
pub enum Notable {
    Action {
        name: &'static str,
        detail: String,
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
}

impl Notable {
    pub fn describe(&self) -> String {
        let b = |x: Option<u32>| x.map_or("none".to_string(), |v| v.to_string());
        match self {
            Notable::Action { name, detail } => format!("action {name}{}{detail}", if detail.is_empty() { "" } else { ": " }),
            Notable::BrokerFenced { broker, silent_ms } => {
                format!("broker {broker} fenced after {:.1} s without heartbeat", *silent_ms as f64 / 1000.0)
            }
            Notable::BrokerUnfenced { broker } => format!("broker {broker} unfenced: caught up with metadata"),
            Notable::BrokerRegistered { broker } => format!("broker {broker} registered with the controller"),
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
                };
                format!("partition {topic}-{partition} leader {} -> {}, epoch {epoch} ({how})", b(*from), b(*to))
            }
            Notable::IsrChange { topic, partition, from, to } => format!("partition {topic}-{partition} ISR {from:?} -> {to:?}"),
            Notable::Truncated {
                topic,
                partition,
                broker,
                from,
                to,
            } => {
                format!("broker {broker} truncated {topic}-{partition} from offset {from} to {to} (divergent suffix)")
            }
            Notable::ControllerElected { controller, epoch } => format!("controller c{controller} is active (epoch {epoch})"),
            Notable::ControllerLost { controller } => format!("active controller c{controller} lost: election pending"),
            Notable::QuorumLost => "controller quorum has no majority: metadata frozen".to_string(),
            Notable::ControlledShutdownDone { broker } => format!("broker {broker} finished controlled shutdown"),
            Notable::ProducerError { producer, error, partitions } => format!("producer {producer}: {error} on {partitions} partition(s)"),
            Notable::ProducerEpochBumped {
                producer,
                epoch,
                topic,
                partition,
            } => format!("producer {producer} bumped its epoch to {epoch}: sequence numbers on {topic}-{partition} restart at 0"),
            Notable::Dropped { from, to } => format!("message {from} -> {to} dropped by a network cut"),
            Notable::Text(t) => t.clone(),
        }
    }
}
