//! Guided lessons: a scenario plus narrated steps. Each step names a simulated
//! time, a short text (what to look at and why) and the thing on screen it talks
//! about. Lessons are data files (`lessons/*.json`); the built-in ones are
//! embedded, and a teacher's own file loads at run time through `Lesson::from_json`.
//!
//! A lesson may compare two runs side by side: `compare.set` changes a few
//! settings of the scenario (`"groups.0.assignor": "cooperative-sticky"`) for the
//! second run, which plays in lockstep with the first.

use crate::scenario::Scenario;
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
];

/// The built-in lessons read from `lessons/` (native only; the page fetches them).
#[cfg(not(target_arch = "wasm32"))]
pub fn built_in() -> Result<Vec<Lesson>, String> {
    BUILT_IN_FILES
        .iter()
        .map(|name| {
            let path = format!("{}/lessons/{name}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
            Lesson::from_json(&text).map_err(|e| format!("{name}: {e}"))
        })
        .collect()
}

/// Sets `path` ("groups.0.assignor") in a JSON value; a missing object key is added.
pub fn set_path(root: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let mut cur = root;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        cur = match cur {
            Value::Object(map) => {
                if last {
                    map.insert(part.to_string(), value);
                    return Ok(());
                }
                map.entry(part.to_string()).or_insert_with(|| Value::Object(Default::default()))
            }
            Value::Array(items) => {
                let n: usize = part.parse().map_err(|_| format!("{path}: {part:?} is not an index into a list"))?;
                let len = items.len();
                let slot = items
                    .get_mut(n)
                    .ok_or_else(|| format!("{path}: index {n} is past the end of a list of {len}"))?;
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
            _ => return Err(format!("{path}: {part:?} is inside a value that is neither an object nor a list")),
        };
    }
    Err(format!("{path}: empty path"))
}

impl Lesson {
    /// Parses and checks a lesson file; every problem is one line.
    pub fn from_json(text: &str) -> Result<Lesson, String> {
        let f: LessonFile = serde_json::from_str(text).map_err(|e| format!("invalid lesson: {e}"))?;
        let at = |what: &str| format!("lesson {}: {what}", f.id);
        if f.id.is_empty() || !f.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!("invalid lesson: id {:?} must be letters, digits, - and _", f.id));
        }
        let scenario_json = match &f.scenario {
            Value::String(id) => {
                let p = crate::presets::find(id).ok_or_else(|| at(&format!("unknown preset {id:?}")))?;
                serde_json::from_str::<Value>(p.json).map_err(|e| at(&e.to_string()))?
            }
            v @ Value::Object(_) => v.clone(),
            _ => return Err(at("scenario must be a preset id or a scenario object")),
        };
        let scenario = Scenario::from_json(&scenario_json.to_string()).map_err(|e| at(&e.to_string()))?;
        let compare = match &f.compare {
            None => None,
            Some(c) => {
                if c.set.is_empty() {
                    return Err(at("compare.set is empty: the two runs would be the same"));
                }
                let mut b = scenario_json.clone();
                for (path, v) in &c.set {
                    set_path(&mut b, path, v.clone()).map_err(|e| at(&format!("compare.set {e}")))?;
                }
                let sb = Scenario::from_json(&b.to_string()).map_err(|e| at(&format!("compare run: {e}")))?;
                Some((sb, c.a.clone(), c.b.clone()))
            }
        };
        if f.steps.is_empty() {
            return Err(at("has no steps"));
        }
        for (i, s) in f.steps.iter().enumerate() {
            let n = i + 1;
            if i > 0 && s.at_ms < f.steps[i - 1].at_ms {
                return Err(at(&format!("step {n} at {} ms comes before step {i}", s.at_ms)));
            }
            if s.at_ms > scenario.duration_ms {
                return Err(at(&format!(
                    "step {n} at {} ms is past the scenario's end ({} ms)",
                    s.at_ms, scenario.duration_ms
                )));
            }
            if !s.text.has("en") || !s.title.has("en") {
                return Err(at(&format!("step {n} has no English text")));
            }
            check_highlight(&scenario, &s.highlight).map_err(|e| at(&format!("step {n}: {e}")))?;
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

fn check_highlight(s: &Scenario, h: &str) -> Result<(), String> {
    let bad = || format!("highlight {h:?} names nothing on screen");
    match h.split_once(':') {
        None if PLACES.contains(&h) => Ok(()),
        Some(("chart", c)) if CHARTS.contains(&c) => Ok(()),
        Some(("broker", b)) => match b.parse::<u32>() {
            Ok(n) if n < s.cluster.brokers => Ok(()),
            _ => Err(bad()),
        },
        Some(("group", g)) if s.group(g).is_some() => Ok(()),
        Some(("partition", p)) => {
            let (topic, n) = p.rsplit_once('-').ok_or_else(bad)?;
            match (s.topic(topic), n.parse::<u32>()) {
                (Some(t), Ok(n)) if n < t.partitions => Ok(()),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
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
        let l = Lesson::from_json(&readme[start..end]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.steps.len(), 2);
        assert!(l.compare.is_some());
    }

    #[test]
    fn a_minimal_lesson_loads_and_text_falls_back_to_english() {
        let l = Lesson::from_json(MINIMAL).unwrap();
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
            let e = Lesson::from_json(&json).unwrap_err();
            assert!(e.contains(want), "{e:?} should contain {want:?}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn compare_changes_only_the_named_settings() {
        let j = MINIMAL.replace(
            "\"steps\"",
            "\"compare\": {\"a\": \"cooperative\", \"b\": \"eager\", \"set\": {\"groups.0.assignor\": \"range\"}}, \"steps\"",
        );
        let l = Lesson::from_json(&j).unwrap();
        let (b, _, _) = l.compare.unwrap();
        assert_eq!(b.groups[0].assignor.as_deref(), Some("range"));
        assert_eq!(l.scenario.groups[0].assignor.as_deref(), Some("cooperative-sticky"));
        assert_eq!(b.producers, l.scenario.producers);
    }
}
