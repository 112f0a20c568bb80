//! In the browser (wasm32) this mounts the Yew app; natively it is the CLI.

#[cfg(target_arch = "wasm32")]
fn main() {
    kafka_sim::ui::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(kafka_sim::cli::main());
}
