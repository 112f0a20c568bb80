//! Translations. English is the source language and the key: `tr("Pause")`.
//! Each other language is one data file, `i18n/<code>.json`, mapping English
//! texts to translations; `{0}`, `{1}` stand for values (`"Kill broker {0}"`).
//! Adding a language is adding a file and a line to `LANGUAGES`. The files are
//! served next to the page and fetched when a language is chosen, so the
//! WebAssembly stays the same size whatever the number of languages.
//!
//! Texts built elsewhere (the engine's event log, error messages) are translated
//! by matching them against the templates: "broker 2 fenced after 9.0 s without
//! heartbeat" matches "broker {0} fenced after {1} s without heartbeat". A value
//! that is itself a known text (an election kind, a cause) is translated too.
//! Kafka's own names, ids and units are never translated.

use crate::sim::SortSmall;
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// (code, name in its own language). English first: it needs no file.
pub const LANGUAGES: &[(&str, &str)] = &[("en", "English"), ("zh", "简体中文")];

#[derive(Deserialize)]
struct File {
    messages: BTreeMap<String, String>,
}

struct Template {
    /// Literal pieces around the slots: `pieces.len() == slots.len() + 1`.
    pieces: Vec<String>,
    slots: Vec<usize>,
    out: String,
    literal_len: usize,
}

pub struct Catalog {
    pub code: String,
    exact: BTreeMap<String, String>,
    templates: Vec<Template>,
}

fn parse_template(key: &str) -> Option<(Vec<String>, Vec<usize>)> {
    let mut pieces = vec![String::new()];
    let mut slots = Vec::new();
    let mut rest = key;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}')? + open;
        let n: usize = rest[open + 1..close].parse().ok()?;
        pieces.last_mut()?.push_str(&rest[..open]);
        slots.push(n);
        pieces.push(String::new());
        rest = &rest[close + 1..];
    }
    pieces.last_mut()?.push_str(rest);
    (!slots.is_empty()).then_some((pieces, slots))
}

impl Catalog {
    pub fn from_json(code: &str, json: &str) -> Result<Catalog, String> {
        let f: File = serde_json::from_str(json).map_err(|e| format!("i18n/{code}.json: {e}"))?;
        let mut templates: Vec<Template> = f
            .messages
            .iter()
            .filter_map(|(k, v)| {
                let (pieces, slots) = parse_template(k)?;
                let literal_len = pieces.iter().map(String::len).sum();
                Some(Template {
                    pieces,
                    slots,
                    out: v.clone(),
                    literal_len,
                })
            })
            .collect();
        // The most specific template wins.
        templates.sort_small_by(|a, b| b.literal_len.cmp(&a.literal_len));
        Ok(Catalog {
            code: code.to_string(),
            exact: f.messages,
            templates,
        })
    }

    pub fn has(&self, key: &str) -> bool {
        self.exact.contains_key(key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.exact.keys()
    }

    /// Translates a text: exactly, else by a template, else unchanged.
    pub fn tr(&self, s: &str) -> String {
        if let Some(t) = self.exact.get(s) {
            return t.clone();
        }
        for t in &self.templates {
            if let Some(values) = match_template(&t.pieces, s) {
                let mut out = t.out.clone();
                for (i, slot) in t.slots.iter().enumerate() {
                    // A value may itself be a known text ("broker 0", "initial_join");
                    // it is shorter than `s`, so this recursion ends.
                    let v = if values[i].chars().any(|c| c.is_ascii_alphabetic()) {
                        self.tr(values[i])
                    } else {
                        values[i].to_string()
                    };
                    out = out.replace(&format!("{{{slot}}}"), &v);
                }
                return out;
            }
        }
        s.to_string()
    }

    /// Fills a template's translation with values.
    pub fn trf<S: AsRef<str>>(&self, template: &str, args: &[S]) -> String {
        fill(self.exact.get(template).map_or(template, |s| s.as_str()), args)
    }
}

fn fill<S: AsRef<str>>(template: &str, args: &[S]) -> String {
    let mut out = template.to_string();
    for (i, a) in args.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), a.as_ref());
    }
    out
}

/// Splits `s` along the literal pieces; the values between them (non-empty).
fn match_template<'a>(pieces: &[String], s: &'a str) -> Option<Vec<&'a str>> {
    let mut rest = s.strip_prefix(pieces[0].as_str())?;
    let mut values = Vec::with_capacity(pieces.len() - 1);
    for (i, piece) in pieces[1..].iter().enumerate() {
        let last = i + 2 == pieces.len();
        let at = if last {
            if piece.is_empty() {
                rest.len()
            } else {
                rest.strip_suffix(piece.as_str()).map(str::len)?
            }
        } else {
            rest.find(piece.as_str())?
        };
        if at == 0 {
            return None;
        }
        values.push(&rest[..at]);
        rest = &rest[at + piece.len()..];
    }
    rest.is_empty().then_some(values)
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Catalog>>> = const { RefCell::new(None) };
    static LOADED: RefCell<Vec<Rc<Catalog>>> = const { RefCell::new(Vec::new()) };
}

/// A known language code, or None.
pub fn known(code: &str) -> Option<&'static str> {
    LANGUAGES.iter().find(|(c, _)| *c == code).map(|(c, _)| *c)
}

/// Adds a language's table (the text of `i18n/<code>.json`).
pub fn install(code: &str, json: &str) -> Result<(), String> {
    let c = Rc::new(Catalog::from_json(code, json)?);
    LOADED.with(|l| {
        let mut l = l.borrow_mut();
        l.retain(|x| x.code != code);
        l.push(c);
    });
    Ok(())
}

/// Switches the language. False when its table is not installed yet (English
/// always is): the caller fetches it, installs it and switches again.
pub fn set_language(code: &str) -> bool {
    if code == "en" {
        CURRENT.with(|c| *c.borrow_mut() = None);
        return true;
    }
    let Some(cat) = LOADED.with(|l| l.borrow().iter().find(|x| x.code == code).cloned()) else {
        return false;
    };
    CURRENT.with(|c| *c.borrow_mut() = Some(cat));
    true
}

pub fn language() -> String {
    CURRENT.with(|c| c.borrow().as_ref().map_or("en".to_string(), |k| k.code.clone()))
}

/// The current language's text for an English one.
pub fn tr(s: &str) -> String {
    CURRENT.with(|c| c.borrow().as_ref().map_or_else(|| s.to_string(), |k| k.tr(s)))
}

/// A template with values: `trf("Kill broker {0}", &[id.to_string()])`.
pub fn trf<S: AsRef<str>>(template: &str, args: &[S]) -> String {
    CURRENT.with(|c| c.borrow().as_ref().map_or_else(|| fill(template, args), |k| k.trf(template, args)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"messages": {
        "Pause": "暂停",
        "Kill broker {0}": "停止 Broker {0}",
        "broker {0} fenced after {1} s without heartbeat": "Broker {0} 在 {1} s 内没有心跳后被隔离",
        "partition {0} leader {1} -> {2}, epoch {3} ({4})": "分区 {0} 的领导者 {1} -> {2}，纪元 {3}（{4}）",
        "clean election": "干净选举"
    }}"#;

    #[test]
    fn exact_template_and_nested_values() {
        let c = Catalog::from_json("zh", SAMPLE).unwrap();
        assert_eq!(c.tr("Pause"), "暂停");
        assert_eq!(c.trf("Kill broker {0}", &["2"]), "停止 Broker 2");
        assert_eq!(c.tr("broker 2 fenced after 9.0 s without heartbeat"), "Broker 2 在 9.0 s 内没有心跳后被隔离");
        assert_eq!(
            c.tr("partition orders-3 leader 2 -> 0, epoch 5 (clean election)"),
            "分区 orders-3 的领导者 2 -> 0，纪元 5（干净选举）"
        );
        assert_eq!(c.tr("something else"), "something else");
        assert_eq!(
            c.tr("broker  fenced after 9.0 s without heartbeat"),
            "broker  fenced after 9.0 s without heartbeat"
        );
    }

    const ZH: &str = include_str!("../i18n/zh.json");

    #[test]
    fn the_global_language_switches_once_installed() {
        assert!(!set_language("zh"), "not installed yet");
        install("zh", ZH).unwrap();
        assert!(set_language("zh"));
        assert_eq!(language(), "zh");
        assert_ne!(tr("Pause"), "Pause");
        assert!(set_language("en"));
        assert_eq!(tr("Pause"), "Pause");
        assert_eq!(trf("Kill broker {0}", &["1"]), "Kill broker 1");
        assert_eq!(known("xx"), None);
    }

    #[test]
    fn event_log_lines_translate_with_nested_values() {
        let c = Catalog::from_json("zh", ZH).unwrap();
        assert_eq!(c.tr("action kill_broker: broker 0"), "操作 终止 Broker：Broker 0");
        assert_eq!(
            c.tr("group billing: rebalance started (initial_join)"),
            "消费者组 billing：重平衡开始（首次加入）"
        );
    }
}
