//! Shareable runs: the scenario (a preset's id, or the whole scenario) and the
//! user's actions with their times, packed into a URL fragment
//! `#run=1.<base64url JSON>`. Opening the link rebuilds the same run: same seed,
//! same actions at the same microseconds, so the same fingerprint. The leading
//! `1.` is the format's version. A malformed, tampered or future link is a
//! one-line error, never a panic.

use crate::i18n::{template_error, Template};
use crate::scenario::draft::DraftError;
use crate::scenario::{Scenario, ScenarioError, TimedAction};
use serde::{Deserialize, Serialize};

pub const VERSION: u32 = 1;
const PREFIX: &str = "run=";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedRun {
    /// A built-in preset's id; when absent, `scenario` holds the whole scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<Scenario>,
    /// The user's actions, each at its simulated microsecond.
    #[serde(default)]
    pub actions: Vec<TimedAction>,
    /// Where the run was when the link was made: the page goes there and pauses.
    pub t_us: u64,
    /// Side by side: the id of the setting changed in the second run
    /// (`crate::scenario::draft::VARIANTS`), which gets the same actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<String>,
}

/// Why a link cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareError {
    UnknownPreset(String),
    /// A built-in preset that does not validate (a build problem, not the link's).
    PresetInvalid(ScenarioError),
    InvalidScenario(ScenarioError),
    /// Both a preset and a scenario, or neither.
    NeitherPresetNorScenario,
    PastEnd {
        t_us: u64,
        end_us: u64,
    },
    /// Side by side: the second run cannot be made (`compare` is the variant's id).
    Comparison {
        compare: String,
        error: DraftError,
    },
    Action {
        at_us: u64,
        error: ScenarioError,
    },
    NoVersion,
    /// Made by a newer kafka-sim: its format version, above `VERSION`.
    Newer(u32),
    UnknownFormat(String),
    NotBase64,
    NotUtf8,
    /// The JSON inside is not a shared run: serde's message.
    Json(String),
}

impl Template for ShareError {
    fn template(&self) -> (&'static str, Vec<String>) {
        use ShareError::*;
        match self {
            UnknownPreset(id) => ("the link names an unknown preset {0}", vec![format!("{id:?}")]),
            PresetInvalid(e) => e.template(),
            InvalidScenario(e) => ("the link's scenario is invalid: {0}", vec![e.to_string()]),
            NeitherPresetNorScenario => ("the link must name either a preset or a scenario", vec![]),
            PastEnd { t_us, .. } => ("the link's time {0} s is past the scenario's end", vec![(t_us / 1_000_000).to_string()]),
            Comparison { compare, error } => ("the link's comparison {0}: {1}", vec![format!("{compare:?}"), error.to_string()]),
            Action { at_us, error } => ("the link's action at {0} us is invalid: {1}", vec![at_us.to_string(), error.to_string()]),
            NoVersion => ("the link is cut short: no version", vec![]),
            Newer(v) => (
                "the link was made by a newer kafka-sim (format {0}; this one reads {1})",
                vec![v.to_string(), VERSION.to_string()],
            ),
            UnknownFormat(v) => ("the link's format {0} is unknown", vec![format!("{v:?}")]),
            NotBase64 => ("the link is damaged: it is not valid base64", vec![]),
            NotUtf8 => ("the link is damaged: not UTF-8 text", vec![]),
            Json(m) => ("the link is damaged: {0}", vec![m.clone()]),
        }
    }

    fn nested(&self) -> Option<(usize, &dyn Template)> {
        use ShareError::*;
        match self {
            PresetInvalid(e) => e.nested(),
            InvalidScenario(e) => Some((0, e)),
            Comparison { error, .. } => Some((1, error)),
            Action { error, .. } => Some((1, error)),
            _ => None,
        }
    }
}
template_error!(ShareError);

impl SharedRun {
    /// The scenario the link describes, checked.
    pub fn scenario(&self) -> Result<Scenario, ShareError> {
        match (&self.preset, &self.scenario) {
            (Some(id), None) => {
                let p = crate::presets::find(id).ok_or_else(|| ShareError::UnknownPreset(id.clone()))?;
                Scenario::from_json(p.json).map_err(ShareError::PresetInvalid)
            }
            (None, Some(s)) => {
                s.validate().map_err(ShareError::InvalidScenario)?;
                Ok(s.clone())
            }
            _ => Err(ShareError::NeitherPresetNorScenario),
        }
    }

    /// Rebuilds the run at its start with every action scheduled; the caller
    /// runs it to `t_us` (in slices, so a long run does not freeze the page).
    pub fn build(&self) -> Result<crate::Simulation, ShareError> {
        let scenario = self.scenario()?;
        let end_us = scenario.duration_ms.saturating_mul(1000);
        if self.t_us > end_us {
            return Err(ShareError::PastEnd { t_us: self.t_us, end_us });
        }
        self.with_actions(&scenario)
    }

    /// The second run of a side-by-side link, when it has one: the changed
    /// scenario with the same actions at the same times.
    pub fn build_compare(&self) -> Result<Option<crate::Simulation>, ShareError> {
        let Some(id) = &self.compare else { return Ok(None) };
        let b = crate::scenario::draft::variant(&self.scenario()?, id).map_err(|error| ShareError::Comparison { compare: id.clone(), error })?;
        self.with_actions(&b).map(Some)
    }

    fn with_actions(&self, scenario: &Scenario) -> Result<crate::Simulation, ShareError> {
        let mut sim = crate::Simulation::new(scenario);
        for a in &self.actions {
            sim.schedule(a.at_us, a.action.clone())
                .map_err(|error| ShareError::Action { at_us: a.at_us, error })?;
        }
        Ok(sim)
    }

    /// The fragment, without '#'.
    pub fn encode(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        format!("{PREFIX}{VERSION}.{}", base64url_encode(json.as_bytes()))
    }

    /// Parses a fragment (with or without '#'). `Ok(None)`: the fragment is not a shared run.
    pub fn decode(fragment: &str) -> Result<Option<SharedRun>, ShareError> {
        let f = fragment.trim_start_matches('#');
        let Some(rest) = f.strip_prefix(PREFIX) else { return Ok(None) };
        let (version, data) = rest.split_once('.').ok_or(ShareError::NoVersion)?;
        match version.parse::<u32>() {
            Ok(VERSION) => {}
            Ok(v) if v > VERSION => return Err(ShareError::Newer(v)),
            _ => return Err(ShareError::UnknownFormat(version.to_string())),
        }
        let bytes = base64url_decode(data).ok_or(ShareError::NotBase64)?;
        let text = String::from_utf8(bytes).map_err(|_| ShareError::NotUtf8)?;
        let run: SharedRun = serde_json::from_str(&text).map_err(|e| ShareError::Json(e.to_string()))?;
        Ok(Some(run))
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16) | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8) | u32::from(*chunk.get(2).unwrap_or(&0));
        let emit = chunk.len() + 1;
        for i in 0..emit {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let digits: Option<Vec<u32>> = text
        .trim_end_matches('=')
        .bytes()
        .map(|b| ALPHABET.iter().position(|&a| a == b).map(|p| p as u32))
        .collect();
    let digits = digits?;
    if digits.len() % 4 == 1 {
        return None;
    }
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, d) in chunk.iter().enumerate() {
            n |= d << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Action;

    fn run() -> SharedRun {
        SharedRun {
            preset: Some("orders".into()),
            scenario: None,
            actions: vec![TimedAction {
                at_us: 4_000_001,
                action: Action::KillBroker { broker: 1 },
            }],
            t_us: 20_000_000,
            compare: None,
        }
    }

    #[test]
    fn base64url_round_trips_every_length() {
        for n in 0..40u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37).wrapping_add(n)).collect();
            assert_eq!(base64url_decode(&base64url_encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base64url_encode(b"hello"), "aGVsbG8");
    }

    #[test]
    fn a_link_reproduces_the_same_run() {
        let link = run().encode();
        assert!(link.starts_with("run=1."));
        let back = SharedRun::decode(&format!("#{link}")).unwrap().unwrap();
        assert_eq!(back, run());
        // The run a user made by acting live, and the run the link rebuilds.
        let mut live = crate::Simulation::new(&back.scenario().unwrap());
        live.run_until(4_000_000);
        live.inject(Action::KillBroker { broker: 1 }).unwrap();
        live.run_until(20_000_000);
        let mut linked = back.build().unwrap();
        linked.run_until(back.t_us);
        assert_eq!(live.fingerprint(), linked.fingerprint());
    }

    #[test]
    fn a_side_by_side_link_rebuilds_both_runs() {
        let mut r = run();
        r.compare = Some("acks1".into());
        let back = SharedRun::decode(&r.encode()).unwrap().unwrap();
        assert_eq!(back.compare.as_deref(), Some("acks1"));
        let mut a = back.build().unwrap();
        let mut b = back.build_compare().unwrap().expect("a second run");
        a.run_until(back.t_us);
        b.run_until(back.t_us);
        // Same actions in both; only the setting differs, so the runs differ.
        assert_eq!(a.injected_actions(), b.injected_actions());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(run().build_compare().unwrap().is_none());
        r.compare = Some("warp-drive".into());
        let e = r.build_compare().err().expect("an unknown comparison is refused");
        assert_eq!(
            e,
            ShareError::Comparison {
                compare: "warp-drive".into(),
                error: DraftError::UnknownComparison("warp-drive".into())
            }
        );
        assert_eq!(e.to_string(), "the link's comparison \"warp-drive\": unknown comparison \"warp-drive\"");
    }

    #[test]
    fn custom_scenarios_travel_whole() {
        let mut s = Scenario::from_json(crate::presets::PRESETS[0].json).unwrap();
        s.seed = 99;
        let r = SharedRun {
            preset: None,
            scenario: Some(s.clone()),
            actions: vec![],
            t_us: 0,
            compare: None,
        };
        assert_eq!(SharedRun::decode(&r.encode()).unwrap().unwrap().scenario().unwrap(), s);
    }

    #[test]
    fn bad_links_are_one_line_errors() {
        let good = run().encode();
        let cases = [
            ("run=2.abc".to_string(), "newer kafka-sim"),
            ("run=x.abc".to_string(), "format \"x\" is unknown"),
            ("run=1".to_string(), "no version"),
            ("run=1.@@@".to_string(), "not valid base64"),
            (good[..good.len() - 5].to_string(), "damaged"),
            (format!("run=1.{}", base64url_encode(b"{\"preset\": \"nope\", \"t_us\": 0}")), ""),
        ];
        for (link, want) in cases {
            match SharedRun::decode(&link)
                .map_err(|e| e.to_string())
                .and_then(|r| r.ok_or_else(|| "none".to_string()))
                .and_then(|r| r.build().map(|_| ()).map_err(|e| e.to_string()))
            {
                Ok(()) => panic!("{link} was accepted"),
                Err(e) => {
                    assert!(e.contains(want), "{e:?} should contain {want:?}");
                    assert!(!e.contains('\n'));
                }
            }
        }
        assert_eq!(SharedRun::decode("#something-else").unwrap(), None);
        let mut far = run();
        far.t_us = u64::MAX;
        assert!(far.build().err().unwrap().to_string().contains("past the scenario's end"));
        let mut bad_action = run();
        bad_action.actions[0].action = Action::KillBroker { broker: 9 };
        assert!(bad_action.build().err().unwrap().to_string().contains("broker 9 does not exist"));
    }

    #[test]
    fn link_errors_carry_the_facts() {
        assert_eq!(SharedRun::decode("run=7.abc"), Err(ShareError::Newer(7)));
        assert_eq!(SharedRun::decode("#run=1"), Err(ShareError::NoVersion));
        assert_eq!(SharedRun::decode("run=1.@@"), Err(ShareError::NotBase64));
        assert_eq!(
            SharedRun::decode(&format!("run=1.{}", base64url_encode(&[0xff, 0xfe]))),
            Err(ShareError::NotUtf8)
        );
        let mut far = run();
        far.t_us = 600_000_001;
        assert!(matches!(
            far.build(),
            Err(ShareError::PastEnd {
                t_us: 600_000_001,
                end_us: 600_000_000
            })
        ));
        let mut bad_action = run();
        bad_action.actions[0].action = Action::KillBroker { broker: 9 };
        assert_eq!(
            bad_action.build().err(),
            Some(ShareError::Action {
                at_us: 4_000_001,
                error: ScenarioError::NoSuchBroker { broker: 9, brokers: 3 }
            })
        );
        let e = ShareError::Newer(7);
        assert_eq!(
            e.template(),
            (
                "the link was made by a newer kafka-sim (format {0}; this one reads {1})",
                vec!["7".into(), "1".into()]
            )
        );
        let nowhere = SharedRun {
            preset: None,
            scenario: None,
            actions: vec![],
            t_us: 0,
            compare: None,
        };
        assert_eq!(nowhere.scenario(), Err(ShareError::NeitherPresetNorScenario));
    }
}
