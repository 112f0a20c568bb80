//! Guided lessons: a scenario plus narrated steps. Each step names a simulated
//! time, a short text (what to look at and why) and the thing on screen it talks
//! about. Lessons are data files (`lessons/*.json`); the built-in ones are
//! embedded, and a teacher's own file loads at run time through `Lesson::parse`.
//!
//! A lesson may compare two runs side by side: `compare.set` changes a few
//! settings of the scenario (`"groups.0.assignor": "cooperative-sticky"`) for the
//! second run, which plays in lockstep with the first.

use crate::i18n::{template_error, Template};
use crate::scenario::{Scenario, ScenarioError};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Text in one or more languages: a plain string, or `{"en": ..., "zh": ...}`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Text {
    Plain(String),
    ByLang(BTreeMap<String, String>),
}

impl Text {
    /// The text in `lang`, else English, else the first one given.
    pub fn get(&self, lang: &str) -> &str {
        match self {
            Text::Plain(s) => s,
            Text::ByLang(m) => m.get(lang).or_else(|| m.get("en")).or_else(|| m.values().next()).map_or("", |s| s.as_str()),
        }
    }

    /// Whether this text was written in `lang` (a plain string counts as every language).
    pub fn has(&self, lang: &str) -> bool {
        match self {
            Text::Plain(_) => true,
            Text::ByLang(m) => m.contains_key(lang),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Simulated time of this step, from the start of the run.
    pub at_ms: u64,
    pub title: Text,
    pub text: Text,
    /// What the step talks about, highlighted on screen: `broker:1`,
    /// `partition:orders-0`, `group:billing`, `chart:throughput|latency|lag|health`,
    /// `timeline`, `guarantees`, `eventlog`, `controllers`, `network`, `producers`.
    pub highlight: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compare {
    /// What the first run (A) and the second run (B) are, e.g. "eager" / "cooperative".
    pub a: Text,
    pub b: Text,
    /// Settings of run B, by path into the scenario JSON.
    pub set: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LessonFile {
    id: String,
    title: Text,
    #[serde(default)]
    summary: Option<Text>,
    /// A built-in preset's id, or a whole scenario.
    scenario: Value,
    #[serde(default)]
    compare: Option<Compare>,
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Lesson {
    pub id: String,
    pub title: Text,
    pub summary: Option<Text>,
    pub scenario: Scenario,
    /// The second run's scenario and the labels of both, for side-by-side lessons.
    pub compare: Option<(Scenario, Text, Text)>,
    pub steps: Vec<Step>,
}

/// The built-in lessons' files in `lessons/`, in teaching order. They are
/// served next to the page and fetched by it (so the WebAssembly does not grow
/// with every lesson); native code and tests read them from disk.
pub const BUILT_IN_FILES: &[&str] = &[
    "01-partitions-and-keys.json",
    "02-replication-isr-hw.json",
    "03-acks.json",
    "04-min-insync-replicas.json",
    "05-leader-election.json",
    "06-first-join.json",
    "07-eager-vs-cooperative.json",
    "08-static-membership.json",
    "09-slow-consumer.json",
    "10-kip848.json",
    "11-fraud-broker-failure.json",
    "12-slow-model-lag.json",
    "13-eligible-leader-replicas.json",
    "14-exactly-once.json",
    "15-read-committed.json",
    "16-zombie-fencing.json",
    "17-hanging-transaction.json",
    "18-share-group-poison.json",
];

/// What is wrong with a lesson file. Every variant after `BadId` names the lesson.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LessonError {
    /// Not a lesson: JSON syntax, a missing or unknown field (serde's message).
    Json(String),
    BadId(String),
    UnknownPreset {
        lesson: String,
        preset: String,
    },
    /// A built-in preset that is not JSON (a build problem, not the teacher's).
    PresetJson {
        lesson: String,
        message: String,
    },
    ScenarioNotObject {
        lesson: String,
    },
    Scenario {
        lesson: String,
        error: ScenarioError,
    },
    CompareEmpty {
        lesson: String,
    },
    ComparePath {
        lesson: String,
        error: SetPathError,
    },
    /// Run B's scenario, after `compare.set`, is not valid.
    CompareScenario {
        lesson: String,
        error: ScenarioError,
    },
    NoSteps {
        lesson: String,
    },
    /// Steps are numbered from 1; `step` comes before the one before it.
    StepOrder {
        lesson: String,
        step: usize,
        at_ms: u64,
    },
    StepPastEnd {
        lesson: String,
        step: usize,
        at_ms: u64,
        end_ms: u64,
    },
    StepNoEnglish {
        lesson: String,
        step: usize,
    },
    Highlight {
        lesson: String,
        step: usize,
        highlight: String,
    },
    /// Native only: a built-in lesson file that cannot be read, or is not valid.
    Read {
        path: String,
        message: String,
    },
    File {
        file: String,
        error: Box<LessonError>,
    },
}

impl Template for LessonError {
    fn template(&self) -> (&'static str, Vec<String>) {
        use LessonError::*;
        let l = |lesson: &String| lesson.clone();
        match self {
            Json(m) => ("invalid lesson: {0}", vec![m.clone()]),
            BadId(id) => ("invalid lesson: id {0} must be letters, digits, - and _", vec![format!("{id:?}")]),
            UnknownPreset { lesson, preset } => ("lesson {0}: unknown preset {1}", vec![l(lesson), format!("{preset:?}")]),
            PresetJson { lesson, message } => ("lesson {0}: {1}", vec![l(lesson), message.clone()]),
            ScenarioNotObject { lesson } => ("lesson {0}: scenario must be a preset id or a scenario object", vec![l(lesson)]),
            Scenario { lesson, error } => ("lesson {0}: {1}", vec![l(lesson), error.to_string()]),
            CompareEmpty { lesson } => ("lesson {0}: compare.set is empty: the two runs would be the same", vec![l(lesson)]),
            ComparePath { lesson, error } => ("lesson {0}: compare.set {1}", vec![l(lesson), error.to_string()]),
            CompareScenario { lesson, error } => ("lesson {0}: compare run: {1}", vec![l(lesson), error.to_string()]),
            NoSteps { lesson } => ("lesson {0}: has no steps", vec![l(lesson)]),
            StepOrder { lesson, step, at_ms } => (
                "lesson {0}: step {1} at {2} ms comes before step {3}",
                vec![l(lesson), step.to_string(), at_ms.to_string(), step.saturating_sub(1).to_string()],
            ),
            StepPastEnd { lesson, step, at_ms, end_ms } => (
                "lesson {0}: step {1} at {2} ms is past the scenario's end ({3} ms)",
                vec![l(lesson), step.to_string(), at_ms.to_string(), end_ms.to_string()],
            ),
            StepNoEnglish { lesson, step } => ("lesson {0}: step {1} has no English text", vec![l(lesson), step.to_string()]),
            Highlight { lesson, step, highlight } => (
                "lesson {0}: step {1}: highlight {2} names nothing on screen",
                vec![l(lesson), step.to_string(), format!("{highlight:?}")],
            ),
            Read { path, message } => ("{0}: {1}", vec![path.clone(), message.clone()]),
            File { file, error } => ("{0}: {1}", vec![file.clone(), error.to_string()]),
        }
    }

    fn nested(&self) -> Option<(usize, &dyn Template)> {
        use LessonError::*;
        match self {
            Scenario { error, .. } | CompareScenario { error, .. } => Some((1, error)),
            ComparePath { error, .. } => Some((1, error)),
            File { error, .. } => Some((1, error.as_ref())),
            _ => None,
        }
    }
}

/// Why `set_path` cannot set a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetPathError {
    NotAnIndex {
        path: String,
        part: String,
    },
    PastEnd {
        path: String,
        index: usize,
        len: usize,
    },
    /// `part` names a field inside a number, a string, a boolean or null.
    NotAContainer {
        path: String,
        part: String,
    },
}

impl Template for SetPathError {
    fn template(&self) -> (&'static str, Vec<String>) {
        match self {
            SetPathError::NotAnIndex { path, part } => ("{0}: {1} is not an index into a list", vec![path.clone(), format!("{part:?}")]),
            SetPathError::PastEnd { path, index, len } => (
                "{0}: index {1} is past the end of a list of {2}",
                vec![path.clone(), index.to_string(), len.to_string()],
            ),
            SetPathError::NotAContainer { path, part } => (
                "{0}: {1} is inside a value that is neither an object nor a list",
                vec![path.clone(), format!("{part:?}")],
            ),
        }
    }
}
template_error!(LessonError, SetPathError);

/// The built-in lessons read from `lessons/` (native only; the page fetches them).
#[cfg(not(target_arch = "wasm32"))]
pub fn built_in() -> Result<Vec<Lesson>, LessonError> {
    BUILT_IN_FILES
        .iter()
        .map(|name| {
            let path = format!("{}/lessons/{name}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).map_err(|e| LessonError::Read {
                path: path.clone(),
                message: e.to_string(),
            })?;
            Lesson::parse(&text).map_err(|e| LessonError::File {
                file: name.to_string(),
                error: Box::new(e),
            })
        })
        .collect()
}

/// Sets `path` ("groups.0.assignor") in a JSON value; a missing object key is added.
pub fn set_path(root: &mut Value, path: &str, value: Value) -> Result<(), SetPathError> {
    let (parents, last) = path.rsplit_once('.').map_or((None, path), |(p, l)| (Some(p), l));
    let mut cur = root;
    for part in parents.into_iter().flat_map(|p| p.split('.')) {
        cur = child(cur, path, part)?;
    }
    *child(cur, path, last)? = value;
    Ok(())
}

/// The value under `part` (a key or a list index), added as an empty object if it is a missing key.
fn child<'a>(cur: &'a mut Value, path: &str, part: &str) -> Result<&'a mut Value, SetPathError> {
    match cur {
        Value::Object(map) => Ok(map.entry(part.to_string()).or_insert_with(|| Value::Object(Default::default()))),
        Value::Array(items) => {
            let index: usize = part.parse().map_err(|_| SetPathError::NotAnIndex {
                path: path.to_string(),
                part: part.to_string(),
            })?;
            let len = items.len();
            items.get_mut(index).ok_or(SetPathError::PastEnd {
                path: path.to_string(),
                index,
                len,
            })
        }
        _ => Err(SetPathError::NotAContainer {
            path: path.to_string(),
            part: part.to_string(),
        }),
    }
}

impl Lesson {
    /// Parses and checks a lesson file; every problem is one line.
    pub fn parse(text: &str) -> Result<Lesson, LessonError> {
        use LessonError as E;
        let f: LessonFile = serde_json::from_str(text).map_err(|e| E::Json(e.to_string()))?;
        if f.id.is_empty() || !f.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(E::BadId(f.id));
        }
        let lesson = || f.id.clone();
        let scenario_json = match &f.scenario {
            Value::String(id) => {
                let p = crate::presets::find(id).ok_or_else(|| E::UnknownPreset {
                    lesson: lesson(),
                    preset: id.clone(),
                })?;
                serde_json::from_str::<Value>(p.json).map_err(|e| E::PresetJson {
                    lesson: lesson(),
                    message: e.to_string(),
                })?
            }
            v @ Value::Object(_) => v.clone(),
            _ => return Err(E::ScenarioNotObject { lesson: lesson() }),
        };
        let scenario = Scenario::from_json(&scenario_json.to_string()).map_err(|error| E::Scenario { lesson: lesson(), error })?;
        let compare = match &f.compare {
            None => None,
            Some(c) => {
                if c.set.is_empty() {
                    return Err(E::CompareEmpty { lesson: lesson() });
                }
                let mut b = scenario_json.clone();
                for (path, v) in &c.set {
                    set_path(&mut b, path, v.clone()).map_err(|error| E::ComparePath { lesson: lesson(), error })?;
                }
                let sb = Scenario::from_json(&b.to_string()).map_err(|error| E::CompareScenario { lesson: lesson(), error })?;
                Some((sb, c.a.clone(), c.b.clone()))
            }
        };
        if f.steps.is_empty() {
            return Err(E::NoSteps { lesson: lesson() });
        }
        for (i, s) in f.steps.iter().enumerate() {
            let step = i + 1;
            if i > 0 && s.at_ms < f.steps[i - 1].at_ms {
                return Err(E::StepOrder {
                    lesson: lesson(),
                    step,
                    at_ms: s.at_ms,
                });
            }
            if s.at_ms > scenario.duration_ms {
                return Err(E::StepPastEnd {
                    lesson: lesson(),
                    step,
                    at_ms: s.at_ms,
                    end_ms: scenario.duration_ms,
                });
            }
            if !s.text.has("en") || !s.title.has("en") {
                return Err(E::StepNoEnglish { lesson: lesson(), step });
            }
            if !names_something(&scenario, &s.highlight) {
                return Err(E::Highlight {
                    lesson: lesson(),
                    step,
                    highlight: s.highlight.clone(),
                });
            }
        }
        Ok(Lesson {
            id: f.id,
            title: f.title,
            summary: f.summary,
            scenario,
            compare,
            steps: f.steps,
        })
    }
}

const PLACES: &[&str] = &["timeline", "guarantees", "eventlog", "controllers", "network", "producers", "cluster", "groups"];
const CHARTS: &[&str] = &["throughput", "latency", "lag", "health", "model"];

/// Whether a step's highlight names something the page shows for this scenario.
fn names_something(s: &Scenario, h: &str) -> bool {
    match h.split_once(':') {
        None => PLACES.contains(&h),
        Some(("chart", c)) => CHARTS.contains(&c),
        Some(("broker", b)) => b.parse::<u32>().is_ok_and(|n| n < s.cluster.brokers),
        Some(("group", g)) => s.group(g).is_some(),
        Some(("partition", p)) => p
            .rsplit_once('-')
            .is_some_and(|(topic, n)| s.topic(topic).zip(n.parse::<u32>().ok()).is_some_and(|(t, n)| n < t.partitions)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"id": "x", "title": "X", "scenario": "orders",
        "steps": [{"at_ms": 0, "title": "Start", "text": "Look.", "highlight": "partition:orders-5"}]}"#;

    #[test]
    fn every_built_in_lesson_loads_and_every_file_is_listed() {
        let lessons = built_in().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lessons.len(), BUILT_IN_FILES.len());
        let ids: std::collections::BTreeSet<&str> = lessons.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids.len(), lessons.len(), "two lessons share an id");
        let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/lessons")).unwrap().count();
        assert_eq!(on_disk, BUILT_IN_FILES.len(), "a file in lessons/ is not in BUILT_IN_FILES");
    }

    #[test]
    fn the_readme_example_lesson_loads() {
        let readme = include_str!("../README.md");
        let start = readme.find("```json\n{\"id\": \"my-lesson\"").expect("README has the lesson example") + 8;
        let end = start + readme[start..].find("```").unwrap();
        let l = Lesson::parse(&readme[start..end]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.steps.len(), 2);
        assert!(l.compare.is_some());
    }

    #[test]
    fn a_minimal_lesson_loads_and_text_falls_back_to_english() {
        let l = Lesson::parse(MINIMAL).unwrap();
        assert_eq!(l.steps[0].text.get("zh"), "Look.");
        let t: Text = serde_json::from_str(r#"{"en": "Look.", "zh": "看。"}"#).unwrap();
        assert_eq!((t.get("zh"), t.get("fr")), ("看。", "Look."));
    }

    #[test]
    fn bad_lessons_get_one_line_errors() {
        let cases = [
            (
                MINIMAL.replace("orders-5", "orders-6"),
                "step 1: highlight \"partition:orders-6\" names nothing on screen",
            ),
            (MINIMAL.replace("\"orders\",", "\"nope\","), "unknown preset \"nope\""),
            (MINIMAL.replace("\"at_ms\": 0", "\"at_ms\": 999999999"), "past the scenario's end"),
            (MINIMAL.replace("\"id\": \"x\"", "\"id\": \"a b\""), "must be letters"),
            ("{\"id\": 1}".to_string(), "invalid lesson"),
            (
                MINIMAL.replace(
                    "\"steps\"",
                    "\"compare\": {\"a\": \"A\", \"b\": \"B\", \"set\": {\"groups.5.assignor\": \"range\"}}, \"steps\"",
                ),
                "index 5 is past the end",
            ),
        ];
        for (json, want) in cases {
            let e = Lesson::parse(&json).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn lesson_errors_carry_the_step_and_the_values() {
        let e = |json: String| Lesson::parse(&json).unwrap_err();
        assert_eq!(
            e(MINIMAL.replace("orders-5", "orders-6")),
            LessonError::Highlight {
                lesson: "x".into(),
                step: 1,
                highlight: "partition:orders-6".into()
            }
        );
        assert_eq!(
            e(MINIMAL.replace("\"at_ms\": 0", "\"at_ms\": 999999999")),
            LessonError::StepPastEnd {
                lesson: "x".into(),
                step: 1,
                at_ms: 999_999_999,
                end_ms: 600_000
            }
        );
        let two_steps = MINIMAL.replace("}]}", "}, {\"at_ms\": 0, \"title\": \"B\", \"text\": \"B\", \"highlight\": \"cluster\"}]}");
        let late_first = two_steps.replacen("\"at_ms\": 0", "\"at_ms\": 5", 1);
        let order = e(late_first);
        assert_eq!(
            order,
            LessonError::StepOrder {
                lesson: "x".into(),
                step: 2,
                at_ms: 0
            }
        );
        assert_eq!(order.to_string(), "lesson x: step 2 at 0 ms comes before step 1");
        assert_eq!(e(MINIMAL.replace("\"id\": \"x\"", "\"id\": \"a b\"")), LessonError::BadId("a b".into()));
        let path = e(MINIMAL.replace(
            "\"steps\"",
            "\"compare\": {\"a\": \"A\", \"b\": \"B\", \"set\": {\"groups.5.assignor\": \"range\"}}, \"steps\"",
        ));
        assert_eq!(
            path,
            LessonError::ComparePath {
                lesson: "x".into(),
                error: SetPathError::PastEnd {
                    path: "groups.5.assignor".into(),
                    index: 5,
                    len: 1
                }
            }
        );
        assert_eq!(
            path.to_string(),
            "lesson x: compare.set groups.5.assignor: index 5 is past the end of a list of 1"
        );
        assert!(matches!(
            e(MINIMAL.replace("\"orders\",", "{\"cluster\": {\"brokers\": 0}},")),
            LessonError::Scenario {
                error: crate::ScenarioError::Brokers(0),
                ..
            }
        ));
    }

    #[test]
    fn set_path_adds_keys_and_refuses_what_it_cannot_reach() {
        let mut v: Value = serde_json::from_str(r#"{"groups": [{"id": "g"}], "seed": 1}"#).unwrap();
        set_path(&mut v, "cluster.brokers", 5.into()).unwrap();
        set_path(&mut v, "groups.0.id", "h".into()).unwrap();
        set_path(&mut v, "duration_ms", 9.into()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"groups": [{"id": "h"}], "seed": 1, "cluster": {"brokers": 5}, "duration_ms": 9})
        );
        assert_eq!(
            set_path(&mut v, "groups.first.id", 1.into()),
            Err(SetPathError::NotAnIndex {
                path: "groups.first.id".into(),
                part: "first".into()
            })
        );
        assert_eq!(
            set_path(&mut v, "seed.x", 1.into()),
            Err(SetPathError::NotAContainer {
                path: "seed.x".into(),
                part: "x".into()
            })
        );
    }

    #[test]
    fn compare_changes_only_the_named_settings() {
        let j = MINIMAL.replace(
            "\"steps\"",
            "\"compare\": {\"a\": \"cooperative\", \"b\": \"eager\", \"set\": {\"groups.0.assignor\": \"range\"}}, \"steps\"",
        );
        let l = Lesson::parse(&j).unwrap();
        let (b, _, _) = l.compare.unwrap();
        assert_eq!(b.groups[0].assignor.as_deref(), Some("range"));
        assert_eq!(l.scenario.groups[0].assignor.as_deref(), Some("cooperative-sticky"));
        assert_eq!(b.producers, l.scenario.producers);
    }
}
