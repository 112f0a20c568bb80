//! The browser app (Yew): components, event wiring and drawing. One component
//! owns a `session::Session`, which holds the run (and its side-by-side twin) and
//! does all playback; `update` hands each kind of message to the file for its
//! concern (playback, setup, lessons, sharing, preferences) and the view draws
//! what the session's runs report. No simulation or playback logic here.

mod browser;
mod chart_view;
mod controls;
mod keys;
mod lesson;
mod main_view;
mod modal;
mod playback;
mod prefs;
mod setup;
mod sharing;
mod status;
mod toolbar;
mod views;
mod welcome;

use crate::charts::PlotArea;
use crate::i18n::{tr, trf};
use crate::presets::PRESETS;
use crate::scenario::draft::Draft;
use crate::scenario::{Action, Scenario};
use crate::session::Session;
use gloo_timers::callback::Interval;
use status::Status;
use yew::prelude::*;

pub use lesson::LessonMsg;
pub use playback::PlayMsg;
pub use prefs::PrefMsg;
pub use setup::SetupMsg;

pub fn start() {
    yew::Renderer::<App>::new().render();
}

/// What the page asks of the app, by concern.
pub enum Msg {
    Play(PlayMsg),
    Setup(SetupMsg),
    Lesson(LessonMsg),
    Prefs(PrefMsg),
    View(ViewMsg),
    /// A link that reproduces this run (or this lesson step).
    CopyLink,
    /// A keyboard shortcut (`keys.rs` maps it to one of the above).
    Key(String),
    /// The first visit's card: a lesson, free play, or closed.
    Welcome(welcome::Welcome),
}

/// What is shown and how, without touching the run.
pub enum ViewMsg {
    Select(Option<views::Selection>),
    Filter(String),
    /// Pointer over a chart: (chart index, CSS x), or gone.
    Hover(Option<(usize, f64)>),
    /// A chart got the keyboard focus (its values are read out), or lost it.
    ChartFocus(Option<usize>),
    /// A chart's canvas changed size.
    ChartsResized,
    /// Save chart i: as PNG (false) or its data as CSV (true).
    SaveChart(usize, bool),
    /// The rebalance the timeline shows (group, generation); None follows the latest.
    PickRebalance(Option<(String, i32)>),
    CutForm(controls::CutField, String),
    /// On a phone: the controls behind the menu button.
    ToggleMenu,
    /// Side by side: the groups, the rebalance timeline and the event log show run B (true) or A.
    ShowRunB(bool),
}

impl Msg {
    /// A fault or command for the run, applied now in both runs.
    pub fn act(a: Action) -> Msg {
        Msg::Play(PlayMsg::Act(a))
    }

    pub fn rewind(t: u64) -> Msg {
        Msg::Play(PlayMsg::Rewind(t))
    }

    pub fn select(s: Option<views::Selection>) -> Msg {
        Msg::View(ViewMsg::Select(s))
    }
}

pub struct App {
    /// The preset running, or None for a scenario from the form or a file.
    preset: Option<&'static str>,
    /// The run (and its twin side by side, the lesson being taught) and its playback.
    session: Session,
    playing: bool,
    speed: f64,
    interval: Option<Interval>,
    canvases: Vec<NodeRef>,
    selected: Option<views::Selection>,
    filter: String,
    /// The status line, translated when drawn.
    message: Option<Status>,
    /// A scenario file that could not be read, shown in the setup panel.
    file_error: Option<crate::i18n::Sourced<status::FetchError>>,
    help: bool,
    setup: Draft,
    cut: controls::CutForm,
    /// "auto" follows the system, or "light" / "dark".
    theme: String,
    large: bool,
    /// Where each chart's plot landed, for mapping the pointer to a time.
    plots: Vec<PlotArea>,
    /// (chart, CSS x) under the pointer.
    hover: Option<(usize, f64)>,
    /// A tick's engine work is measured together with its drawing (Performance API).
    tick_open: bool,
    /// What the charts were last drawn from; unchanged means no redraw.
    chart_sig: Vec<Option<chart_view::ChartSig>>,
    /// Each canvas's CSS width and height, by the layout key they were measured under.
    canvas_w: Vec<Option<(u64, f64, f64)>>,
    /// The chart with the keyboard focus and the simulated time it was focused at.
    chart_focus: Option<(usize, u64)>,
    /// How many times the canvases were resized (part of the charts' layout key).
    chart_resizes: u32,
    chart_watch: Option<chart_view::ChartWatch>,
    /// One callback for child components, made once so their props compare equal.
    send: Callback<Msg>,
    lang: String,
    /// The built-in lessons, fetched from `lessons/` after the first render.
    lessons: Vec<crate::lesson::Lesson>,
    /// A lesson asked for in the URL before the lessons arrived: (id, step).
    pending_lesson: Option<(String, usize)>,
    /// The last link made by "Copy link", shown for copying by hand.
    link_text: Option<String>,
    presenting: bool,
    /// On a phone: the controls behind the menu button are shown.
    menu_open: bool,
    /// The lesson panel's step text is folded away (where the panel is pinned above the page).
    lesson_folded: bool,
    /// Side by side: the groups, timeline and event log show run B.
    show_b: bool,
    /// The first visit's card is open.
    welcome: bool,
    /// "Start lesson 1" was chosen before the lessons arrived.
    pending_first_lesson: bool,
    scroll_pending: bool,
    /// The root element's attributes as last written (theme, language, large, presenting).
    root_attrs: Option<(String, String, bool, bool)>,
    /// The charts were drawn in this tick's update, before the view.
    charts_drawn: bool,
    /// This tick's turn is a chart's (the next one the page's).
    chart_turn: bool,
    rb_pick: Option<(String, i32)>,
    _keys: Option<gloo_events::EventListener>,
}

impl App {
    /// Starts `session` playing, as the scenario `preset` (None: the user's own).
    fn start_session(&mut self, ctx: &Context<Self>, session: Session, preset: Option<&'static str>) {
        self.preset = preset;
        self.session = session;
        self.show_b = false;
        self.selected = None;
        self.message = None;
        self.set_playing(ctx, true);
    }

    fn on_view(&mut self, msg: ViewMsg) -> bool {
        match msg {
            ViewMsg::Select(s) => self.selected = s,
            ViewMsg::Filter(f) => self.filter = f,
            ViewMsg::Hover(h) => self.hover = h,
            ViewMsg::ChartFocus(i) => self.chart_focus = i.map(|i| (i, self.session.now_us())),
            ViewMsg::ChartsResized => self.chart_resizes = self.chart_resizes.wrapping_add(1),
            ViewMsg::SaveChart(i, csv) => {
                self.save_chart(i, csv);
                return false;
            }
            ViewMsg::PickRebalance(p) => self.rb_pick = p,
            ViewMsg::CutForm(field, v) => match field {
                controls::CutField::From => self.cut.from = v,
                controls::CutField::To => self.cut.to = v,
                controls::CutField::OneWay => self.cut.one_way = v == "true",
            },
            ViewMsg::ToggleMenu => self.menu_open = !self.menu_open,
            ViewMsg::ShowRunB(b) => self.show_b = b,
        }
        true
    }

    /// The page's layout changed without the window changing (the lesson rail
    /// came or went): every chart is measured and drawn again.
    fn relayout(&mut self) {
        self.canvas_w.iter_mut().for_each(|c| *c = None);
        self.chart_sig.iter_mut().for_each(|c| *c = None);
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let scenario = setup::preset_scenario(PRESETS[0].id).unwrap_or_else(|_| Scenario::from_json("{}").expect("the empty scenario is valid"));
        let mut setup = Draft::default();
        setup.reset_to(&scenario, PRESETS[0].id);
        let mut app = App {
            preset: Some(PRESETS[0].id),
            session: Session::new(scenario),
            playing: false,
            speed: 5.0,
            interval: None,
            canvases: (0..chart_view::MAX_CHARTS).map(|_| NodeRef::default()).collect(),
            selected: None,
            filter: String::new(),
            message: None,
            file_error: None,
            help: false,
            setup,
            cut: controls::CutForm::default(),
            theme: "auto".into(),
            large: false,
            plots: Vec::new(),
            hover: None,
            tick_open: false,
            chart_sig: vec![None; chart_view::MAX_CHARTS],
            canvas_w: vec![None; chart_view::MAX_CHARTS],
            chart_focus: None,
            chart_resizes: 0,
            chart_watch: None,
            send: ctx.link().callback(|m: Msg| m),
            lang: "en".to_string(),
            lessons: Vec::new(),
            pending_lesson: None,
            link_text: None,
            presenting: false,
            menu_open: false,
            lesson_folded: false,
            show_b: false,
            welcome: false,
            pending_first_lesson: false,
            scroll_pending: false,
            root_attrs: None,
            charts_drawn: false,
            chart_turn: false,
            rb_pick: None,
            _keys: None,
        };
        app._keys = keys::listen(ctx);
        // A first visit starts paused, with a card saying what this is.
        app.welcome = welcome::first_visit();
        app.set_playing(ctx, !app.welcome);
        prefs::restore_language(ctx);
        // A shared run in the fragment, or a lesson (built-in id or a file's URL) in the query.
        app.open_link(ctx);
        lesson::load_built_in(ctx);
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Play(m) => self.on_play(ctx, m),
            Msg::Setup(m) => self.on_setup(ctx, m),
            Msg::Lesson(m) => self.on_lesson(ctx, m),
            Msg::Prefs(m) => self.on_prefs(ctx, m),
            Msg::View(m) => self.on_view(m),
            Msg::CopyLink => self.copy_link(),
            Msg::Welcome(w) => self.on_welcome(ctx, w),
            Msg::Key(k) => match self.key_msg(&k) {
                Some(m) => <Self as Component>::update(self, ctx, m),
                None => false,
            },
        }
    }

    fn rendered(&mut self, ctx: &Context<Self>, _first: bool) {
        self.write_root_attrs();
        self.watch_chart_sizes(ctx);
        if std::mem::take(&mut self.scroll_pending) {
            browser::scroll_to_highlight();
        }
        // A tick drew its charts before the page changed; other renders (a layout
        // change, new charts) draw here. Reading the window's width or a canvas's
        // size now would force a layout inside the frame.
        if !std::mem::take(&mut self.charts_drawn) {
            self.draw_charts();
        }
        self.end_frame();
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let sim = self.session.sim();
        let now = sim.now_us();
        let fingerprint = sim.fingerprint();
        let twin_fingerprint = self.session.twin().map(|t| t.fingerprint());
        html! {
            <div class={classes!("app", self.session.lesson_steps().is_some().then_some("with-lesson"))} id="app" data-ready="true" data-sim-us={now.to_string()} data-fingerprint={fingerprint.clone()} data-twin-fingerprint={twin_fingerprint} data-lang={self.lang.clone()}>
                <header>
                    <h1>{ "kafka-sim" }</h1>
                    <p>{ tr("A Kafka cluster simulated in your browser: brokers, replication, producers and consumer groups, deterministic from a seed. Break it and watch what happens.") }</p>
                </header>
                { self.controls_bar(link) }
                if self.help { { toolbar::help(link) } }
                if self.welcome { { self.welcome_view(link) } }
                <main>
                    if let Some(steps) = self.session.lesson_steps() { { lesson::view(steps, &self.lang, self.presenting, self.lesson_folded, link) } }
                    if self.setup.open { { self.setup_view() } }
                    { self.view_main(ctx) }
                </main>
                <footer>{ tr("Same seed, same actions, same run. Engine: Rust compiled to WebAssembly; charts: plotters on a canvas.") }
                    { " " }<span class="fingerprint">{ trf("Run fingerprint {0}", &[fingerprint]) }</span></footer>
            </div>
        }
    }
}
