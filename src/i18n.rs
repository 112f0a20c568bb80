//! Translations. English is the source language and the key: `tr("Pause")`.
//! Each other language is one data file, `i18n/<code>.json`, mapping English
//! texts to translations; `{0}`, `{1}` stand for values (`"Kill broker {0}"`).
//! Adding a language is adding a file and a line to `LANGUAGES`.
//!
//! Texts built elsewhere (the engine's event log, error messages) are translated
//! by matching them against the templates: "broker 2 fenced after 9.0 s without
//! heartbeat" matches "broker {0} fenced after {1} s without heartbeat". A value
//! that is itself a known text (an election kind, a cause) is translated too.
//! Kafka's own names, ids and units are never translated.

use serde::Deserialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// (code, name in its own language, file). English first: it needs no file.
pub const LANGUAGES: &[(&str, &str, &str)] = &[("en", "English", ""), ("zh", "简体中文", include_str!("../i18n/zh.json"))];

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
                Some(Template { pieces, slots, out: v.clone(), literal_len })
            })
            .collect();
        // The most specific template wins.
        templates.sort_by(|a, b| b.literal_len.cmp(&a.literal_len));
        Ok(Catalog { code: code.to_string(), exact: f.messages, templates })
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
                    let v = values[i];
                    let v = self.exact.get(v).map_or(v, |x| x.as_str());
                    out = out.replace(&format!("{{{slot}}}"), v);
                }
                return out;
            }
        }
        s.to_string()
    }

    /// Fills a template's translation with values.
    pub fn trf(&self, template: &str, args: &[String]) -> String {
        fill(self.exact.get(template).map_or(template, |s| s.as_str()), args)
    }
}

fn fill(template: &str, args: &[String]) -> String {
    let mut out = template.to_string();
    for (i, a) in args.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), a);
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
}

/// Switches the language ("en", "zh"); an unknown code falls back to English.
pub fn set_language(code: &str) -> &'static str {
    let found = LANGUAGES.iter().find(|(c, _, _)| *c == code);
    let catalog = found.filter(|(c, _, _)| *c != "en").and_then(|(c, _, json)| Catalog::from_json(c, json).ok()).map(Rc::new);
    CURRENT.with(|c| *c.borrow_mut() = catalog);
    found.map_or("en", |(c, _, _)| c)
}

pub fn language() -> String {
    CURRENT.with(|c| c.borrow().as_ref().map_or("en".to_string(), |k| k.code.clone()))
}

/// The current language's text for an English one.
pub fn tr(s: &str) -> String {
    CURRENT.with(|c| c.borrow().as_ref().map_or_else(|| s.to_string(), |k| k.tr(s)))
}

/// A template with values: `trf("Kill broker {0}", &[id.to_string()])`.
pub fn trf(template: &str, args: &[String]) -> String {
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
        assert_eq!(c.trf("Kill broker {0}", &["2".into()]), "停止 Broker 2");
        assert_eq!(c.tr("broker 2 fenced after 9.0 s without heartbeat"), "Broker 2 在 9.0 s 内没有心跳后被隔离");
        assert_eq!(c.tr("partition orders-3 leader 2 -> 0, epoch 5 (clean election)"), "分区 orders-3 的领导者 2 -> 0，纪元 5（干净选举）");
        assert_eq!(c.tr("something else"), "something else");
        assert_eq!(c.tr("broker  fenced after 9.0 s without heartbeat"), "broker  fenced after 9.0 s without heartbeat");
    }

    #[test]
    fn the_global_language_switches_and_falls_back() {
        assert_eq!(set_language("zh"), "zh");
        assert_eq!(language(), "zh");
        assert_ne!(tr("Pause"), "Pause");
        assert_eq!(set_language("xx"), "en");
        assert_eq!(tr("Pause"), "Pause");
        assert_eq!(trf("Kill broker {0}", &["1".into()]), "Kill broker 1");
    }

    #[test]
    fn every_language_file_parses() {
        for (code, _, json) in LANGUAGES.iter().filter(|l| l.0 != "en") {
            Catalog::from_json(code, json).unwrap();
        }
    }
}
