//! View preferences: theme, large type, presentation mode, the help dialog and
//! the language (its table fetched from `i18n/<code>.json` on first use), and
//! the page-wide attributes that carry them.

use super::status::{FetchError, Problem};
use super::{browser, App, Msg};
use crate::i18n::Sourced;
use yew::prelude::*;

pub enum PrefMsg {
    SetTheme(String),
    ToggleLarge,
    TogglePresent,
    ToggleHelp,
    SetLang(String),
    /// A language's table arrived.
    LangLoaded(String, Result<String, FetchError>),
}

/// The language: the URL's choice, else the last one used here, else English.
pub fn restore_language(ctx: &Context<App>) {
    let wanted = browser::query_param("lang")
        .or_else(|| browser::storage_get("kafka-sim-lang"))
        .unwrap_or_else(|| "en".into());
    if wanted != "en" {
        ctx.link().send_message(Msg::Prefs(PrefMsg::SetLang(wanted)));
    }
}

impl App {
    pub(super) fn on_prefs(&mut self, ctx: &Context<Self>, msg: PrefMsg) -> bool {
        match msg {
            PrefMsg::SetTheme(t) => self.theme = t,
            // Presentation mode keeps large type on: the charts and the back row need it.
            PrefMsg::ToggleLarge if self.presenting => return false,
            PrefMsg::ToggleLarge => self.large = !self.large,
            PrefMsg::TogglePresent => {
                self.presenting = !self.presenting;
                self.large = self.presenting;
                self.menu_open = false;
            }
            PrefMsg::ToggleHelp => self.help = !self.help,
            PrefMsg::SetLang(code) => {
                let Some(code) = crate::i18n::known(&code) else {
                    self.message = Some(Problem::UnknownLanguage(code).into());
                    return true;
                };
                if !crate::i18n::set_language(code) {
                    // Fetch the table, then come back here.
                    let link = ctx.link().clone();
                    yew::platform::spawn_local(async move {
                        let text = browser::fetch_text(&format!("i18n/{code}.json")).await;
                        link.send_message(Msg::Prefs(PrefMsg::LangLoaded(code.to_string(), text)));
                    });
                    return false;
                }
                self.lang = code.to_string();
                browser::storage_set("kafka-sim-lang", &self.lang);
                if let Some(url) = browser::url_with(&[("lang", Some(self.lang.clone()))], Some(&browser::fragment())) {
                    browser::replace_url(&url);
                }
            }
            PrefMsg::LangLoaded(code, text) => {
                let table = text
                    .map_err(|e| Problem::Fetch(Sourced::new(code.clone(), e)))
                    .and_then(|t| crate::i18n::Catalog::from_json(&code, &t).map_err(Problem::Catalog));
                match table {
                    Ok(c) => {
                        crate::i18n::add(c);
                        return self.on_prefs(ctx, PrefMsg::SetLang(code));
                    }
                    Err(p) => self.message = Some(p.into()),
                }
            }
        }
        true
    }

    pub(super) fn dark(&self) -> bool {
        if self.presenting {
            return true;
        }
        match self.theme.as_str() {
            "dark" => true,
            "light" => false,
            _ => web_sys::window()
                .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
                .is_some_and(|m| m.matches()),
        }
    }

    /// Page-wide attributes, written only when they change: writing them on
    /// every tick restyled the whole document each time (3 ms a frame).
    pub(super) fn write_root_attrs(&mut self) {
        let wanted = (self.theme.clone(), self.lang.clone(), self.large, self.presenting);
        if self.root_attrs.as_ref() == Some(&wanted) {
            return;
        }
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("data-theme", &self.theme);
            let _ = root.set_attribute("lang", if self.lang == "zh" { "zh-Hans" } else { &self.lang });
            let _ = if self.large {
                root.set_attribute("data-large", "true")
            } else {
                root.remove_attribute("data-large")
            };
            let _ = if self.presenting {
                root.set_attribute("data-present", "true")
            } else {
                root.remove_attribute("data-present")
            };
        }
        self.root_attrs = Some(wanted);
    }
}
