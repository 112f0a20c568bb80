//! Built-in scenarios, embedded at build time from `scenarios/`. Any other
//! scenario file loads at run time through `Scenario::from_json`.

pub struct Preset {
    pub id: &'static str,
    pub title: &'static str,
    pub json: &'static str,
}

pub const PRESETS: &[Preset] = &[
    Preset { id: "orders", title: "Orders with a consumer group (3 brokers)", json: include_str!("../scenarios/orders.json") },
    Preset { id: "steady", title: "Steady producer, 3 brokers", json: include_str!("../scenarios/steady.json") },
    Preset { id: "busy", title: "Busy: 6 brokers, 100k records/s", json: include_str!("../scenarios/busy.json") },
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
