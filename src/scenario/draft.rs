//! A scenario being edited: the text is the source of truth (nothing typed is
//! lost), form fields edit the parsed draft and write it back, and every change
//! is checked, so the page can show a one-line problem next to the field and
//! never replace a running simulation with a broken scenario.

use super::{Acks, GroupProtocol, IsolationLevel, ProcessingGuarantee, Scenario, ScenarioError};
use crate::i18n::{template_error, Sourced, Template};

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

impl Field {
    /// The field's name in the form's error messages, in English.
    pub fn label(self) -> &'static str {
        match self {
            Field::Seed => "seed",
            Field::DurationS => "duration (s)",
            Field::Brokers => "brokers",
            Field::Controllers => "controllers",
            Field::Unclean => "unclean.leader.election.enable",
            Field::MinIsrDefault | Field::TopicMinIsr => "min.insync.replicas",
            Field::Partitions => "partitions",
            Field::ReplicationFactor => "replication.factor",
            Field::ProducerRate => "records/s",
            Field::Acks => "acks",
            Field::Keys => "keys",
            Field::Members => "members",
            Field::Assignor => "assignor",
            Field::Protocol => "group.protocol",
            Field::ConsumerRate => "records/s per member",
        }
    }
}

/// Why a form change or a side-by-side variant cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftError {
    /// The text in the editor is not a valid scenario, so the form cannot edit it.
    FixJsonFirst(ScenarioError),
    /// A number field holds something else (as typed).
    NotANumber {
        field: Field,
        value: String,
    },
    /// `acks` other than 0, 1, all (or -1).
    Acks(String),
    /// `group.protocol` other than classic or consumer.
    Protocol(String),
    /// The field edits the first topic, producer or group, and there is none.
    Missing {
        field: Field,
        what: &'static str,
    },
    /// The change makes an invalid scenario.
    Invalid(ScenarioError),
    /// Side by side: a variant about producers, and the scenario has none.
    NoProducer,
    NoGroup,
    /// exactly_once / at_least_once on a scenario whose groups do not process.
    NoProcessingGroup,
    UnknownComparison(String),
    /// The variant changes nothing: both runs would be the same.
    SameSetting,
}

impl Template for DraftError {
    fn template(&self) -> (&'static str, Vec<String>) {
        match self {
            DraftError::FixJsonFirst(e) => ("fix the JSON first: {0}", vec![e.to_string()]),
            DraftError::NotANumber { field, value } => ("{0}: {1} is not a whole number", vec![field.label().to_string(), format!("{value:?}")]),
            DraftError::Acks(v) => ("acks: {0} is not 0, 1 or all", vec![format!("{v:?}")]),
            DraftError::Protocol(v) => ("group.protocol: {0} is not classic, consumer or share", vec![format!("{v:?}")]),
            DraftError::Missing { what, .. } => ("the scenario has no {0}; add one in the JSON", vec![what.to_string()]),
            // The scenario's own message, translated by its own template.
            DraftError::Invalid(e) => e.template(),
            DraftError::NoProducer => ("the scenario has no producer", vec![]),
            DraftError::NoGroup => ("the scenario has no consumer group", vec![]),
            DraftError::NoProcessingGroup => ("no group of the scenario has a processing_guarantee (consume-transform-produce)", vec![]),
            DraftError::UnknownComparison(id) => ("unknown comparison {0}", vec![format!("{id:?}")]),
            DraftError::SameSetting => ("that is already this scenario's setting: both runs would be the same", vec![]),
        }
    }

    fn nested(&self) -> Option<(usize, &dyn Template)> {
        match self {
            DraftError::FixJsonFirst(e) => Some((0, e)),
            DraftError::Invalid(e) => e.nested(),
            _ => None,
        }
    }
}
template_error!(DraftError);

/// The form's state: the draft as text (the source of truth) and its problem, if any.
#[derive(Default)]
pub struct Draft {
    pub open: bool,
    pub text: String,
    /// What is wrong with the draft: a form field's problem alone, the text's with
    /// where it came from ("orders.json: topic t: ...").
    pub error: Option<Sourced<DraftError>>,
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
    pub fn parse(&self) -> Result<Scenario, ScenarioError> {
        Scenario::from_json(&self.text)
    }

    /// New text from the editor or a file: kept even when invalid, so nothing typed is lost.
    pub fn set_text(&mut self, text: String, source: &str) {
        self.text = text;
        self.rejected = None;
        self.source = source.to_string();
        self.error = self.parse().err().map(|e| Sourced::new(source, DraftError::Invalid(e)));
    }

    /// A form field changed: applied to the parsed draft and written back as text.
    pub fn set_field(&mut self, field: Field, value: &str) {
        match self.edit(field, value) {
            Ok(s) => {
                self.text = s.to_json();
                self.error = None;
                self.rejected = None;
                self.source = "the form".into();
            }
            Err(e @ DraftError::FixJsonFirst(_)) => self.error = Some(Sourced::bare(e)),
            Err(e) => {
                self.error = Some(Sourced::bare(e));
                self.rejected = Some((field, value.to_string()));
            }
        }
    }

    /// The draft with one form field changed, checked; the draft itself is not changed.
    pub fn edit(&self, field: Field, value: &str) -> Result<Scenario, DraftError> {
        let mut s = self.parse().map_err(DraftError::FixJsonFirst)?;
        apply(&mut s, field, value.trim())?;
        s.validate().map_err(DraftError::Invalid)?;
        Ok(s)
    }
}

fn num<T: std::str::FromStr>(field: Field, v: &str) -> Result<T, DraftError> {
    v.parse().map_err(|_| DraftError::NotANumber { field, value: v.to_string() })
}

fn apply(s: &mut Scenario, field: Field, v: &str) -> Result<(), DraftError> {
    let need = |what: &'static str| DraftError::Missing { field, what };
    match field {
        Field::Seed => s.seed = num(field, v)?,
        Field::DurationS => s.duration_ms = num::<u64>(field, v)?.saturating_mul(1000),
        Field::Brokers => s.cluster.brokers = num(field, v)?,
        Field::Controllers => s.cluster.controllers = num(field, v)?,
        Field::Unclean => s.cluster.unclean_leader_election_enable = v == "true",
        Field::MinIsrDefault => s.cluster.min_insync_replicas = num(field, v)?,
        Field::Partitions => s.topics.first_mut().ok_or_else(|| need("topic"))?.partitions = num(field, v)?,
        Field::ReplicationFactor => s.topics.first_mut().ok_or_else(|| need("topic"))?.replication_factor = num(field, v)?,
        Field::TopicMinIsr => s.topics.first_mut().ok_or_else(|| need("topic"))?.min_insync_replicas = if v.is_empty() { None } else { Some(num(field, v)?) },
        Field::ProducerRate => s.producers.first_mut().ok_or_else(|| need("producer"))?.records_per_sec = num(field, v)?,
        Field::Acks => {
            s.producers.first_mut().ok_or_else(|| need("producer"))?.acks = match v {
                "0" => Acks::Zero,
                "1" => Acks::One,
                "all" | "-1" => Acks::All,
                _ => return Err(DraftError::Acks(v.to_string())),
            }
        }
        Field::Keys => s.producers.first_mut().ok_or_else(|| need("producer"))?.keys = num(field, v)?,
        Field::Members => s.groups.first_mut().ok_or_else(|| need("group"))?.members = num(field, v)?,
        Field::Assignor => s.groups.first_mut().ok_or_else(|| need("group"))?.assignor = Some(v.to_string()),
        Field::Protocol => {
            let g = s.groups.first_mut().ok_or_else(|| need("group"))?;
            g.protocol = match v {
                "classic" => GroupProtocol::Classic,
                "consumer" => GroupProtocol::Consumer,
                "share" => GroupProtocol::Share,
                _ => return Err(DraftError::Protocol(v.to_string())),
            };
            // Each protocol has its own assignors: fall back to the protocol's default.
            g.assignor = None;
            if g.is_share() {
                // What share groups do not have.
                g.static_membership = false;
            }
        }
        Field::ConsumerRate => s.groups.first_mut().ok_or_else(|| need("group"))?.records_per_sec_per_member = num(field, v)?,
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
    ("read_committed", "isolation_level read_committed"),
    ("read_uncommitted", "isolation_level read_uncommitted"),
    ("exactly_once", "processing_guarantee exactly_once_v2"),
    ("at_least_once", "processing_guarantee at_least_once"),
    ("share", "share groups (KIP-932)"),
];

/// The scenario with one setting changed for every producer or group it concerns.
pub fn variant(s: &Scenario, id: &str) -> Result<Scenario, DraftError> {
    let mut b = s.clone();
    match id {
        "acks1" | "acks_all" => {
            if b.producers.is_empty() {
                return Err(DraftError::NoProducer);
            }
            for p in &mut b.producers {
                p.acks = if id == "acks1" { Acks::One } else { Acks::All };
                p.enable_idempotence = None;
            }
        }
        "eager" | "cooperative" | "kip848" | "classic" | "static" => {
            if b.groups.is_empty() {
                return Err(DraftError::NoGroup);
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
        "read_committed" | "read_uncommitted" | "share" => {
            if b.groups.is_empty() {
                return Err(DraftError::NoGroup);
            }
            for g in &mut b.groups {
                match id {
                    "share" => {
                        g.protocol = GroupProtocol::Share;
                        g.assignor = None;
                        g.static_membership = false;
                    }
                    _ if g.is_share() => {}
                    "read_committed" => g.isolation_level = IsolationLevel::ReadCommitted,
                    _ => g.isolation_level = IsolationLevel::ReadUncommitted,
                }
            }
        }
        "exactly_once" | "at_least_once" => {
            let guarantee = if id == "exactly_once" {
                ProcessingGuarantee::ExactlyOnceV2
            } else {
                ProcessingGuarantee::AtLeastOnce
            };
            let mut any = false;
            for g in b.groups.iter_mut().filter(|g| g.processing_guarantee.is_some()) {
                g.processing_guarantee = Some(guarantee);
                any = true;
            }
            if !any {
                return Err(DraftError::NoProcessingGroup);
            }
        }
        _ => return Err(DraftError::UnknownComparison(id.to_string())),
    }
    if &b == s {
        return Err(DraftError::SameSetting);
    }
    b.validate().map_err(DraftError::Invalid)?;
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
        assert!(s.error.as_ref().unwrap().to_string().contains("replication_factor 9"), "{:?}", s.error);
        assert_eq!(s.text, before);
        assert_eq!(s.rejected, Some((Field::ReplicationFactor, "9".to_string())));
        s.set_field(Field::ReplicationFactor, "2");
        assert_eq!((s.error.clone(), s.rejected.clone()), (None, None));
        s.set_field(Field::Brokers, "three");
        assert!(s.error.as_ref().unwrap().to_string().contains("not a whole number"));
    }

    #[test]
    fn broken_text_is_kept_with_a_one_line_error() {
        let mut s = setup();
        s.set_text("{\"seed\": 1, \"brokers\": 3}".into(), "bad.json");
        let e = s.error.clone().unwrap();
        assert_eq!(e.source.as_deref(), Some("bad.json"));
        assert!(matches!(e.error, DraftError::Invalid(ScenarioError::Json { .. })));
        let e = e.to_string();
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
        assert_eq!(variant(&s, "acks_all").unwrap_err(), DraftError::SameSetting);
        assert_eq!(variant(&s, "nope").unwrap_err(), DraftError::UnknownComparison("nope".into()));
        for (id, _) in VARIANTS {
            if let Ok(b) = variant(&s, id) {
                assert_ne!(b, s);
            }
        }
    }

    #[test]
    fn variants_for_transactions_processing_and_share_groups() {
        let s = Scenario::from_json(crate::presets::PRESETS[0].json).unwrap();
        let b = variant(&s, "read_committed").unwrap();
        assert!(b.groups.iter().all(|g| g.isolation_level == IsolationLevel::ReadCommitted));
        assert_eq!(variant(&s, "read_uncommitted").unwrap_err(), DraftError::SameSetting);
        assert_eq!(variant(&s, "exactly_once").unwrap_err(), DraftError::NoProcessingGroup);
        let b = variant(&s, "share").unwrap();
        assert!(b.groups.iter().all(|g| g.is_share()));
        let lesson = crate::lesson::Lesson::parse(include_str!("../../lessons/14-exactly-once.json")).unwrap();
        let b = variant(&lesson.scenario, "at_least_once").unwrap();
        assert_eq!(b.groups[0].processing_guarantee, Some(ProcessingGuarantee::AtLeastOnce));
        assert_eq!(variant(&lesson.scenario, "exactly_once").unwrap_err(), DraftError::SameSetting);
    }

    #[test]
    fn form_errors_name_the_field_and_the_value() {
        let s = setup();
        assert_eq!(
            s.edit(Field::Members, "many").unwrap_err(),
            DraftError::NotANumber {
                field: Field::Members,
                value: "many".into()
            }
        );
        assert_eq!(s.edit(Field::Acks, "2").unwrap_err(), DraftError::Acks("2".into()));
        assert_eq!(
            s.edit(Field::ReplicationFactor, "9").unwrap_err(),
            DraftError::Invalid(ScenarioError::ReplicationFactor {
                topic: "orders".into(),
                replication_factor: 9,
                brokers: 3
            })
        );
        let mut none = Draft::default();
        none.reset_to(&Scenario::from_json("{}").unwrap(), "empty");
        let e = none.edit(Field::Partitions, "3").unwrap_err();
        assert_eq!(
            e,
            DraftError::Missing {
                field: Field::Partitions,
                what: "topic"
            }
        );
        assert_eq!(e.to_string(), "the scenario has no topic; add one in the JSON");
        assert_eq!(e.template(), ("the scenario has no {0}; add one in the JSON", vec!["topic".to_string()]));
        none.text = "{".into();
        assert!(matches!(none.edit(Field::Seed, "1"), Err(DraftError::FixJsonFirst(ScenarioError::Json { .. }))));
        // The page's messages are unchanged, word for word.
        assert_eq!(
            s.edit(Field::Brokers, "three").unwrap_err().to_string(),
            "brokers: \"three\" is not a whole number"
        );
    }
}
