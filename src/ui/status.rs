//! What the page says in its status line, and why a file or a table could not be
//! had, as typed values: they are translated when drawn (so switching the
//! language translates them too), each by its own template, and an error from
//! outside the page (a scenario's, a lesson's, a link's) by its variant.

use crate::i18n::{template_error, Sourced, Template};
use crate::lesson::LessonError;
use crate::scenario::draft::DraftError;
use crate::share::ShareError;
use crate::ScenarioError;

/// Why the browser could not hand over a file's text (a picked file, a fetched one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// A picked file above the size the page reads.
    TooLarge { bytes: u64, limit_mb: u64 },
    /// A picked file that could not be read as text.
    Unreadable,
    /// The request failed (no network, refused, blocked).
    Network { url: String },
    /// The server answered with an error status.
    Http { url: String, status: u16 },
    /// The answer's body could not be read as text.
    Body { url: String },
}

impl Template for FetchError {
    fn template(&self) -> (&'static str, Vec<String>) {
        match self {
            FetchError::TooLarge { bytes, limit_mb } => ("{0} bytes is too large ({1} MB at most)", vec![bytes.to_string(), limit_mb.to_string()]),
            FetchError::Unreadable => ("could not read the file", vec![]),
            FetchError::Network { url } => ("could not fetch {0}", vec![url.clone()]),
            FetchError::Http { url, status } => ("could not fetch {0}: HTTP {1}", vec![url.clone(), status.to_string()]),
            FetchError::Body { url } => ("could not read {0}", vec![url.clone()]),
        }
    }
}

/// Something the page could not do, with the error that says why.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// A file (a lesson's, a language table) that did not arrive.
    Fetch(Sourced<FetchError>),
    /// A lesson file that is not a valid lesson, with the file's name.
    Lesson(Sourced<LessonError>),
    /// A built-in preset that does not load (a build problem).
    Preset(ScenarioError),
    UnknownPreset(String),
    /// Side by side: the second run cannot be made.
    Compare(DraftError),
    /// A language table that is not valid.
    Catalog(crate::i18n::CatalogError),
    UnknownLanguage(String),
    NoLesson(String),
    /// The link in the address bar cannot be opened.
    Link(ShareError),
    /// A fault or command that this run cannot take: its name in words, and why.
    Action {
        name: String,
        error: ScenarioError,
    },
}

impl Template for Problem {
    fn template(&self) -> (&'static str, Vec<String>) {
        match self {
            Problem::Fetch(e) => e.template(),
            Problem::Lesson(e) => e.template(),
            Problem::Preset(e) => e.template(),
            Problem::UnknownPreset(id) => ("unknown preset {0}", vec![format!("{id:?}")]),
            Problem::Compare(e) => e.template(),
            Problem::Catalog(e) => e.template(),
            Problem::UnknownLanguage(code) => ("unknown language {0}", vec![format!("{code:?}")]),
            Problem::NoLesson(id) => ("There is no lesson {0}.", vec![id.clone()]),
            Problem::Link(e) => ("This link cannot be opened ({0}); showing the default scenario.", vec![e.to_string()]),
            Problem::Action { name, error } => ("cannot {0}: {1}", vec![name.clone(), error.to_string()]),
        }
    }

    fn nested(&self) -> Option<(usize, &dyn Template)> {
        match self {
            Problem::Fetch(e) => e.nested(),
            Problem::Lesson(e) => e.nested(),
            Problem::Preset(e) => e.nested(),
            Problem::Compare(e) => e.nested(),
            Problem::Catalog(e) => e.nested(),
            Problem::Link(e) => Some((0, e)),
            Problem::Action { error, .. } => Some((1, error)),
            Problem::UnknownPreset(_) | Problem::UnknownLanguage(_) | Problem::NoLesson(_) => None,
        }
    }
}

/// The status line: a note (an English template and its values; values that
/// are known texts, such as an action's name, are translated too) or a problem.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Note(&'static str, Vec<String>),
    /// An event of the log, at its time ("step to the next notable event").
    Event(String, crate::eventlog::Notable),
    Failed(Problem),
}

impl Status {
    pub fn note<S: ToString>(template: &'static str, args: &[S]) -> Status {
        Status::Note(template, args.iter().map(ToString::to_string).collect())
    }
}

impl Template for Status {
    fn template(&self) -> (&'static str, Vec<String>) {
        match self {
            Status::Note(t, args) => (*t, args.clone()),
            Status::Event(at, what) => ("{0}: {1}", vec![at.clone(), what.describe()]),
            Status::Failed(p) => p.template(),
        }
    }

    fn nested(&self) -> Option<(usize, &dyn Template)> {
        match self {
            Status::Note(..) => None,
            Status::Event(_, what) => Some((1, what)),
            Status::Failed(p) => p.nested(),
        }
    }
}

impl From<Problem> for Status {
    fn from(p: Problem) -> Status {
        Status::Failed(p)
    }
}

template_error!(FetchError, Problem, Status);
