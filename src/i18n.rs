//! Translations. English is the source language and the key: `tr("Pause")`.
//! Each other language is one data file, `i18n/<code>.json`, mapping English
//! texts to translations; `{0}`, `{1}` stand for values (`"Kill broker {0}"`).
//! Adding a language is adding a file and a line to `LANGUAGES`. The files are
//! served next to the page and fetched when a language is chosen, so the
//! WebAssembly stays the same size whatever the number of languages.
//!
//! Errors and the event log's entries are typed values that implement
//! `Template`: an English template (the key in the language files) and its
//! values, with a value that is itself a typed message (a nested error) named by
//! `nested`. Their English text is that template filled in, and `tr(&error)`
//! translates the template (and the nested message by its own), so the page
//! translates a variant rather than parsing its text. A value that is itself a
//! known text (an election kind, a form field's label) is translated too.
//! Free text built elsewhere (a few engine notes) is translated by matching it
//! against the templates: "group billing: rebalance started (initial_join)"
//! matches "group {0}: rebalance started ({1})". Kafka's own names, ids and
//! units are never translated.

use crate::sim::SortSmall;
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// (code, name in its own language). English first: it needs no file.
pub const LANGUAGES: &[(&str, &str)] = &[("en", "English"), ("zh", "简体中文")];

/// Puts `args[n]` in place of each `{n}`, in one pass (a value that contains
/// `{1}` stays as it is). A slot without a value stays as written.
pub fn fill<S: AsRef<str>>(template: &str, args: &[S]) -> String {
    let mut out = String::with_capacity(template.len() + args.iter().map(|a| a.as_ref().len()).sum::<usize>());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let slot = after
            .find('}')
            .and_then(|close| Some((close, args.get(after[..close].parse::<usize>().ok()?)?)));
        match slot {
            Some((close, value)) => {
                out.push_str(value.as_ref());
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A message the page can translate by its variant: the English template (the
/// key in `i18n/<code>.json`, with `{0}`, `{1}` for the values) and the values.
/// Every error enum of the crate implements it; its `Display` is the template
/// filled in (see `template_error!`), so the two cannot drift apart.
pub trait Template {
    fn template(&self) -> (&'static str, Vec<String>);

    /// A value that is itself a typed message (a nested error): its slot in the
    /// template and the message, translated by its own template rather than by
    /// matching its English text. The slot's value in `template` is its English text.
    fn nested(&self) -> Option<(usize, &dyn Template)> {
        None
    }
}

/// An error with where it came from (a file's name, a lesson file, a language
/// table): "orders.json: topic t: ..."; without a source, the error alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<E> {
    pub source: Option<String>,
    pub error: E,
}

impl<E> Sourced<E> {
    pub fn new(source: impl Into<String>, error: E) -> Sourced<E> {
        Sourced {
            source: Some(source.into()),
            error,
        }
    }

    pub fn bare(error: E) -> Sourced<E> {
        Sourced { source: None, error }
    }
}

impl<E: Template + std::fmt::Display> Template for Sourced<E> {
    fn template(&self) -> (&'static str, Vec<String>) {
        match &self.source {
            Some(s) => ("{0}: {1}", vec![s.clone(), self.error.to_string()]),
            None => self.error.template(),
        }
    }
    fn nested(&self) -> Option<(usize, &dyn Template)> {
        match &self.source {
            Some(_) => Some((1, &self.error)),
            None => self.error.nested(),
        }
    }
}

impl<E: Template + std::fmt::Display> std::fmt::Display for Sourced<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (template, args) = self.template();
        f.write_str(&fill(template, &args))
    }
}

impl<E: Template + std::fmt::Display> Translate for Sourced<E> {
    fn english(&self) -> String {
        self.to_string()
    }
    fn translate(&self, catalog: &Catalog) -> String {
        catalog.tr_template(self)
    }
}

/// What `tr` translates: English text (by matching the templates), or a typed
/// message (by its own template).
pub trait Translate {
    fn english(&self) -> String;
    fn translate(&self, catalog: &Catalog) -> String;
}

impl<T: AsRef<str> + ?Sized> Translate for T {
    fn english(&self) -> String {
        self.as_ref().to_string()
    }
    fn translate(&self, catalog: &Catalog) -> String {
        catalog.tr(self.as_ref())
    }
}

/// For error enums that implement `Template`: `Display` (the template filled
/// in), `std::error::Error`, and `Translate`, so `tr(&error)` works.
macro_rules! template_error {
    ($($t:ty),+ $(,)?) => {$(
        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let (template, args) = $crate::i18n::Template::template(self);
                f.write_str(&$crate::i18n::fill(template, &args))
            }
        }
        impl ::std::error::Error for $t {}
        impl $crate::i18n::Translate for $t {
            fn english(&self) -> String {
                self.to_string()
            }
            fn translate(&self, catalog: &$crate::i18n::Catalog) -> String {
                catalog.tr_template(self)
            }
        }
    )+};
}
pub(crate) use template_error;

#[derive(Deserialize)]
struct File {
    messages: BTreeMap<String, String>,
}

struct Pattern {
    /// Literal pieces around the slots: `pieces.len() == slots.len() + 1`.
    pieces: Vec<String>,
    slots: Vec<usize>,
    out: String,
    literal_len: usize,
}

pub struct Catalog {
    pub code: String,
    exact: BTreeMap<String, String>,
    templates: Vec<Pattern>,
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

/// A language file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogError {
    /// Not JSON, or no `messages` object of strings: serde's message, with its place.
    Json { code: String, message: String },
}

impl Template for CatalogError {
    fn template(&self) -> (&'static str, Vec<String>) {
        match self {
            CatalogError::Json { code, message } => ("i18n/{0}.json: {1}", vec![code.clone(), message.clone()]),
        }
    }
}
template_error!(CatalogError);

impl Catalog {
    pub fn from_json(code: &str, json: &str) -> Result<Catalog, CatalogError> {
        let f: File = serde_json::from_str(json).map_err(|e| CatalogError::Json {
            code: code.to_string(),
            message: e.to_string(),
        })?;
        let mut templates: Vec<Pattern> = f
            .messages
            .iter()
            .filter_map(|(k, v)| {
                let (pieces, slots) = parse_template(k)?;
                let literal_len = pieces.iter().map(String::len).sum();
                Some(Pattern {
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

    /// Translates a typed message by its template, and a nested message by its
    /// own. Values that are themselves known texts are translated, as `tr` does;
    /// a template the file lacks falls back to matching the English text.
    pub fn tr_template(&self, m: &dyn Template) -> String {
        let (template, args) = m.template();
        let Some(out) = self.exact.get(template) else {
            return self.tr(&fill(template, &args));
        };
        let nested = m.nested();
        let values: Vec<String> = args
            .iter()
            .enumerate()
            .map(|(i, v)| match nested {
                Some((slot, inner)) if slot == i => self.tr_template(inner),
                _ if v.chars().any(|c| c.is_ascii_alphabetic()) => self.tr(v),
                _ => v.clone(),
            })
            .collect();
        fill(out, &values)
    }
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

/// Adds a language's table, replacing one of the same language.
pub fn add(catalog: Catalog) {
    let c = Rc::new(catalog);
    LOADED.with(|l| {
        let mut l = l.borrow_mut();
        l.retain(|x| x.code != c.code);
        l.push(c);
    });
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

/// The current language's text for an English one, or for a typed error.
pub fn tr<T: Translate + ?Sized>(s: &T) -> String {
    CURRENT.with(|c| c.borrow().as_ref().map_or_else(|| s.english(), |k| s.translate(k)))
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
        add(Catalog::from_json("zh", ZH).unwrap());
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
        assert_eq!(c.tr("kill broker 0"), "终止 Broker 0");
        assert_eq!(
            c.tr("group billing: rebalance started (initial_join)"),
            "消费者组 billing：重平衡开始（首次加入）"
        );
    }

    #[test]
    fn typed_errors_translate_by_their_template() {
        use crate::scenario::draft::{DraftError, Field};
        let c = Catalog::from_json("zh", ZH).unwrap();
        let e = crate::share::ShareError::Newer(7);
        assert_ne!(c.tr_template(&e), e.to_string(), "the file has this template");
        assert_eq!(c.tr_template(&e), c.tr(&e.to_string()), "as matching the English text does");
        // Values that are known texts are translated too (the form's label).
        let d = DraftError::NotANumber {
            field: Field::DurationS,
            value: "x".into(),
        };
        assert_eq!(
            c.tr_template(&d),
            c.trf("{0}: {1} is not a whole number", &[c.tr("duration (s)"), "\"x\"".into()])
        );
        // A template the file lacks falls back to the English text's translation.
        let s = crate::ScenarioError::Brokers(0);
        assert_eq!(c.tr_template(&s), c.tr(&s.to_string()));
        // The page's `tr` takes text and typed errors alike.
        add(Catalog::from_json("zh", ZH).unwrap());
        assert!(set_language("zh"));
        assert_eq!(tr(&e), c.tr_template(&e));
        assert_eq!(tr("Pause"), c.tr("Pause"));
        assert!(set_language("en"));
        assert_eq!(tr(&e), e.to_string());
    }

    #[test]
    fn nested_errors_and_sources_translate_by_their_own_templates() {
        use crate::lesson::LessonError;
        let c = Catalog::from_json(
            "zh",
            r#"{"messages": {"{0}: {1}": "{0}：{1}", "lesson {0}: {1}": "课程 {0}：{1}", "topic {0} is defined twice": "主题 {0} 被定义了两次"}}"#,
        )
        .unwrap();
        let e = LessonError::Scenario {
            lesson: "x".into(),
            error: crate::ScenarioError::DuplicateTopic("t".into()),
        };
        assert_eq!(c.tr_template(&e), "课程 x：主题 \"t\" 被定义了两次");
        let sourced = Sourced::new("mine.json", e.clone());
        assert_eq!(sourced.to_string(), "mine.json: lesson x: topic \"t\" is defined twice");
        assert_eq!(c.tr_template(&sourced), "mine.json：课程 x：主题 \"t\" 被定义了两次");
        assert_eq!(Sourced::bare(e.clone()).to_string(), e.to_string());
        assert_eq!(c.tr_template(&Sourced::bare(e.clone())), c.tr_template(&e));
    }

    #[test]
    fn fill_puts_each_value_once() {
        assert_eq!(fill("{0} and {1}", &["{1}", "x"]), "{1} and x");
        assert_eq!(fill("{2} {x} {", &["a"]), "{2} {x} {");
        assert_eq!(fill("no slots", &["a"]), "no slots");
    }

    #[test]
    fn a_bad_language_file_is_named_in_its_error() {
        let Err(e) = Catalog::from_json("zh", "\"text\"") else {
            panic!("a string is not a language file")
        };
        assert!(matches!(&e, CatalogError::Json { code, .. } if code == "zh"));
        assert!(e.to_string().starts_with("i18n/zh.json: invalid type"), "{e}");
    }
}
