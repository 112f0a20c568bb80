//! A scenario being edited: the text is the source of truth (nothing typed is
//! lost), form fields edit the parsed draft and write it back, and every change
//! is checked, so the page can show a one-line problem next to the field and
//! never replace a running simulation with a broken scenario.

use super::{Acks, GroupProtocol, Scenario};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Field {
    Seed,
    DurationS,
    Brokers,
    Controllers,
    Unclean,
    MinIsrDefault,
    Partitions,
    ReplicationFactor,
    TopicMinIsr,
    ProducerRate,
    Acks,
    Keys,
    Members,
    Assignor,
    Protocol,
    ConsumerRate,
}

/// The form's state: the draft as text (the source of truth) and its problem, if any.
#[derive(Default)]
pub struct Draft {
    pub open: bool,
    pub text: String,
    pub error: Option<String>,
    /// Where the draft came from ("orders.json", "the form", ...), for messages.
    pub source: String,
    /// A field value that was rejected, shown as typed until it is fixed.
    pub rejected: Option<(Field, String)>,
}

impl Draft {
    pub fn reset_to(&mut self, s: &Scenario, source: &str) {
        self.text = s.to_json();
        self.error = None;
        self.rejected = None;
        self.source = source.to_string();
    }

    /// The draft, parsed and validated.
    pub fn parse(&self) -> Result<Scenario, String> {
        Scenario::from_json(&self.text).map_err(|e| e.to_string())
    }

    /// New text from the editor or a file: kept even when invalid, so nothing typed is lost.
    pub fn set_text(&mut self, text: String, source: &str) {
        self.text = text;
        self.rejected = None;
        self.source = source.to_string();
        self.error = self.parse().err().map(|e| format!("{source}: {e}"));
    }

    /// A form field changed: applied to the parsed draft and written back as text.
    pub fn set_field(&mut self, field: Field, value: &str) {
        let mut s = match self.parse() {
            Ok(s) => s,
            Err(e) => {
                self.error = Some(format!("fix the JSON first: {e}"));
                return;
            }
        };
        match apply(&mut s, field, value.trim()).and_then(|()| s.validate().map_err(|e| e.to_string())) {
            Ok(()) => {
                self.text = s.to_json();
                self.error = None;
                self.rejected = None;
                self.source = "the form".into();
            }
            Err(e) => {
                self.error = Some(e);
                self.rejected = Some((field, value.to_string()));
            }
        }
    }
}

fn num<T: std::str::FromStr>(label: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{label}: {v:?} is not a whole number"))
}

fn apply(s: &mut Scenario, field: Field, v: &str) -> Result<(), String> {
    let need = |what: &str| format!("the scenario has no {what}; add one in the JSON");
    match field {
        Field::Seed => s.seed = num("seed", v)?,
        Field::DurationS => s.duration_ms = num::<u64>("duration (s)", v)?.saturating_mul(1000),
        Field::Brokers => s.cluster.brokers = num("brokers", v)?,
        Field::Controllers => s.cluster.controllers = num("controllers", v)?,
        Field::Unclean => s.cluster.unclean_leader_election_enable = v == "true",
        Field::MinIsrDefault => s.cluster.min_insync_replicas = num("min.insync.replicas", v)?,
        Field::Partitions => s.topics.first_mut().ok_or_else(|| need("topic"))?.partitions = num("partitions", v)?,
        Field::ReplicationFactor => s.topics.first_mut().ok_or_else(|| need("topic"))?.replication_factor = num("replication.factor", v)?,
        Field::TopicMinIsr => {
            s.topics.first_mut().ok_or_else(|| need("topic"))?.min_insync_replicas = if v.is_empty() { None } else { Some(num("min.insync.replicas", v)?) }
        }
        Field::ProducerRate => s.producers.first_mut().ok_or_else(|| need("producer"))?.records_per_sec = num("records/s", v)?,
        Field::Acks => {
            s.producers.first_mut().ok_or_else(|| need("producer"))?.acks = match v {
                "0" => Acks::Zero,
                "1" => Acks::One,
                "all" | "-1" => Acks::All,
                _ => return Err(format!("acks: {v:?} is not 0, 1 or all")),
            }
        }
        Field::Keys => s.producers.first_mut().ok_or_else(|| need("producer"))?.keys = num("keys", v)?,
        Field::Members => s.groups.first_mut().ok_or_else(|| need("group"))?.members = num("members", v)?,
        Field::Assignor => s.groups.first_mut().ok_or_else(|| need("group"))?.assignor = Some(v.to_string()),
        Field::Protocol => {
            let g = s.groups.first_mut().ok_or_else(|| need("group"))?;
            g.protocol = match v {
                "classic" => GroupProtocol::Classic,
                "consumer" => GroupProtocol::Consumer,
                _ => return Err(format!("group.protocol: {v:?} is not classic or consumer")),
            };
            // Each protocol has its own assignors: fall back to the protocol's default.
            g.assignor = None;
        }
        Field::ConsumerRate => s.groups.first_mut().ok_or_else(|| need("group"))?.records_per_sec_per_member = num("records/s per member", v)?,
    }
    Ok(())
}

/// Second runs for side by side: (id, what B changes). Run A is the scenario as it is.
pub const VARIANTS: &[(&str, &str)] = &[
    ("acks1", "acks=1"),
    ("acks_all", "acks=all"),
    ("eager", "eager rebalancing (range)"),
    ("cooperative", "cooperative rebalancing (cooperative-sticky)"),
    ("kip848", "KIP-848 consumer protocol"),
    ("classic", "classic group protocol"),
    ("static", "static membership"),
];

/// The scenario with one setting changed for every producer or group it concerns.
pub fn variant(s: &Scenario, id: &str) -> Result<Scenario, String> {
    let mut b = s.clone();
    match id {
        "acks1" | "acks_all" => {
            if b.producers.is_empty() {
                return Err("the scenario has no producer".into());
            }
            for p in &mut b.producers {
                p.acks = if id == "acks1" { Acks::One } else { Acks::All };
                p.enable_idempotence = None;
            }
        }
        "eager" | "cooperative" | "kip848" | "classic" | "static" => {
            if b.groups.is_empty() {
                return Err("the scenario has no consumer group".into());
            }
            for g in &mut b.groups {
                match id {
                    "eager" | "cooperative" => {
                        g.protocol = GroupProtocol::Classic;
                        g.assignor = Some(if id == "eager" { "range" } else { "cooperative-sticky" }.into());
                    }
                    "kip848" | "classic" => {
                        g.protocol = if id == "kip848" { GroupProtocol::Consumer } else { GroupProtocol::Classic };
                        g.assignor = None;
                    }
                    _ => g.static_membership = true,
                }
            }
        }
        _ => return Err(format!("unknown comparison {id:?}")),
    }
    if &b == s {
        return Err("that is already this scenario's setting: both runs would be the same".into());
    }
    b.validate().map_err(|e| e.to_string())?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Draft {
        let mut s = Draft::default();
        s.reset_to(&Scenario::from_json(crate::presets::PRESETS[0].json).unwrap(), "preset");
        s
    }

    #[test]
    fn a_form_change_rewrites_the_json() {
        let mut s = setup();
        s.set_field(Field::Brokers, "5");
        assert_eq!(s.error, None);
        assert_eq!(s.parse().unwrap().cluster.brokers, 5);
    }

    #[test]
    fn an_invalid_field_keeps_the_draft_and_says_why() {
        let mut s = setup();
        let before = s.text.clone();
        s.set_field(Field::ReplicationFactor, "9");
        assert!(s.error.as_deref().unwrap().contains("replication_factor 9"), "{:?}", s.error);
        assert_eq!(s.text, before);
        assert_eq!(s.rejected, Some((Field::ReplicationFactor, "9".to_string())));
        s.set_field(Field::ReplicationFactor, "2");
        assert_eq!((s.error.clone(), s.rejected.clone()), (None, None));
        s.set_field(Field::Brokers, "three");
        assert!(s.error.as_deref().unwrap().contains("not a whole number"));
    }

    #[test]
    fn broken_text_is_kept_with_a_one_line_error() {
        let mut s = setup();
        s.set_text("{\"seed\": 1, \"brokers\": 3}".into(), "bad.json");
        let e = s.error.clone().unwrap();
        assert!(e.starts_with("bad.json: invalid scenario: unknown field `brokers`"), "{e}");
        assert!(!e.contains('\n'));
        assert!(s.text.contains("brokers"));
    }

    #[test]
    fn switching_protocol_resets_the_assignor() {
        let mut s = setup();
        s.set_field(Field::Protocol, "consumer");
        assert_eq!(s.error, None);
        assert_eq!(s.parse().unwrap().groups[0].assignor_name(), "uniform");
    }

    #[test]
    fn variants_change_one_thing_or_say_why_not() {
        let s = Scenario::from_json(crate::presets::PRESETS[0].json).unwrap();
        let b = variant(&s, "eager").unwrap();
        assert_eq!(b.groups[0].assignor_name(), "range");
        assert_eq!((b.producers.clone(), b.topics.clone()), (s.producers.clone(), s.topics.clone()));
        assert_eq!(variant(&s, "acks1").unwrap().producers[0].acks, Acks::One);
        assert_eq!(variant(&s, "kip848").unwrap().groups[0].assignor_name(), "uniform");
        assert!(variant(&s, "acks_all").unwrap_err().contains("already"));
        assert!(variant(&s, "nope").is_err());
        for (id, _) in VARIANTS {
            if let Ok(b) = variant(&s, id) {
                assert_ne!(b, s);
            }
        }
    }
}
