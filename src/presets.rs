//! Built-in scenarios, embedded at build time from `scenarios/`. Any other
//! scenario file loads at run time through `Scenario::from_json`.

pub struct Preset {
    pub id: &'static str,
    pub title: &'static str,
    pub json: &'static str,
}

pub const PRESETS: &[Preset] = &[
    Preset {
        id: "orders",
        title: "Orders with a consumer group (3 brokers)",
        json: include_str!("../scenarios/orders.json"),
    },
    Preset {
        id: "steady",
        title: "Steady producer, 3 brokers",
        json: include_str!("../scenarios/steady.json"),
    },
    Preset {
        id: "busy",
        title: "Busy: 6 brokers, 100k records/s",
        json: include_str!("../scenarios/busy.json"),
    },
    Preset {
        id: "fraud-broker",
        title: "Fraud detection under a broker failure",
        json: include_str!("../scenarios/fraud-broker.json"),
    },
    Preset {
        id: "fraud-slow-model",
        title: "A slow model and growing lag",
        json: include_str!("../scenarios/fraud-slow-model.json"),
    },
    Preset {
        id: "fraud-rescore",
        title: "At-least-once re-scoring after a consumer crash",
        json: include_str!("../scenarios/fraud-rescore.json"),
    },
    Preset {
        id: "fraud-rebalance",
        title: "Rebalancing a scoring group: eager vs cooperative",
        json: include_str!("../scenarios/fraud-rebalance.json"),
    },
    Preset {
        id: "rec-freshness",
        title: "A recommender's freshness when the consumer falls behind",
        json: include_str!("../scenarios/rec-freshness.json"),
    },
];

pub fn find(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_preset_parses() {
        for p in super::PRESETS {
            if let Err(e) = crate::Scenario::from_json(p.json) {
                panic!("preset {}: {e}", p.id);
            }
        }
    }
}
