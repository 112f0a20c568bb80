#!/usr/bin/env bash
# Installs whatever the build and the tests need and is missing; skips what is
# there. Sourced by scripts/serve.sh and scripts/test.sh. Only crates.io, npm
# and Debian's packages are used: nothing downloads a binary from elsewhere.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TRUNK_VERSION=0.21.14
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

# rustfmt and clippy: `make test` checks formatting and lints.
ensure_rust_components() {
  local missing=()
  for c in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$c" || missing+=("$c")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "adding Rust components: ${missing[*]}"
    rustup component add "${missing[@]}"
  fi
}

ensure_trunk() {
  if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    say "installing trunk $TRUNK_VERSION from crates.io (about 8 minutes, once)"
    cargo install trunk --version "$TRUNK_VERSION" --locked
  fi
}

# wasm-bindgen-cli must equal the wasm-bindgen version locked in Cargo.lock.
ensure_wasm_bindgen() {
  local want
  want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")
  if [ -z "$want" ]; then echo "cannot find wasm-bindgen in Cargo.lock" >&2; return 1; fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $want" ]; then
    say "installing wasm-bindgen-cli $want from crates.io (about 3 minutes, once)"
    cargo install wasm-bindgen-cli --version "$want" --force
  fi
}

# binaryen (wasm-opt 132) and playwright-core, pinned by package-lock.json.
ensure_npm_tools() {
  if [ ! -x "$ROOT/node_modules/.bin/wasm-opt" ] || [ ! -d "$ROOT/node_modules/playwright-core" ] \
     || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
    say "installing npm tools from package-lock.json (binaryen, playwright-core)"
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]} (about a minute, once)"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_build_tools() {
  ensure_wasm_target
  ensure_trunk
  ensure_wasm_bindgen
  ensure_npm_tools
}

ensure_test_tools() {
  ensure_build_tools
  ensure_rust_components
  # Chromium for Playwright; CJK fonts so Chinese text renders in tests and screenshots.
  apt_install chromium chromium-driver fonts-noto-cjk
}

# The release page (size profile, wasm-opt -Oz) into dist/.
build_page() {
  say "building the page (trunk build --release)"
  (cd "$ROOT" && trunk build --release)
}
