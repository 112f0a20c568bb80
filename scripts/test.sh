#!/usr/bin/env bash
# README command 2: install what is missing and run every test: native unit and
# integration tests, then end-to-end tests of the built page in headless
# Chromium. Ends with one line `N passed, N failed`; exits non-zero on failure.
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
set +e
ensure_test_tools || { echo "tool installation failed"; echo "0 passed, 1 failed"; exit 1; }
cd "$ROOT"
passed=0
failed=0
LOGS="$ROOT/target/test-logs"
mkdir -p "$LOGS"

# Formatting and lints, each counted as one test.
lint() {
  local name="$1"; shift
  if "$@" > "$LOGS/$name.log" 2>&1; then
    echo "ok: $name"; passed=$((passed + 1))
  else
    tail -n 40 "$LOGS/$name.log"; echo "FAILED: $name"; failed=$((failed + 1))
  fi
}
say "formatting and lints (cargo fmt --check, cargo clippy -D warnings on both targets)"
lint fmt cargo fmt --check
lint clippy-native cargo clippy --all-targets -- -D warnings
lint clippy-wasm cargo clippy --target wasm32-unknown-unknown --lib --bins -- -D warnings

# Native tests: sum cargo's `test result:` lines.
say "native tests (cargo test)"
cargo test --all-targets 2>&1 | tee "$LOGS/cargo.log"
cargo_rc=${PIPESTATUS[0]}
read -r np nf < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } } END { print p+0, f+0 }' "$LOGS/cargo.log")
passed=$((passed + np)); failed=$((failed + nf))
if [ "$cargo_rc" -ne 0 ] && [ "$nf" -eq 0 ]; then
  echo "cargo test exited $cargo_rc without a failing test (build error?)"; failed=$((failed + 1))
fi

# Browser tests: build the release page, then node's test runner with playwright-core.
if build_page 2>&1 | tee "$LOGS/trunk.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
  say "end-to-end tests (headless Chromium)"
  node --test --test-concurrency=1 tests/e2e/ 2>&1 | tee "$LOGS/e2e.log"
  node_rc=${PIPESTATUS[0]}
  ep=$(awk '/^# pass / { print $3 }' "$LOGS/e2e.log" | tail -n1)
  ef=$(awk '/^# fail / { print $3 }' "$LOGS/e2e.log" | tail -n1)
  passed=$((passed + ${ep:-0})); failed=$((failed + ${ef:-0}))
  if [ "$node_rc" -ne 0 ] && [ "${ef:-0}" -eq 0 ]; then
    echo "node --test exited $node_rc without a failing test"; failed=$((failed + 1))
  fi
else
  echo "page build failed: end-to-end tests not run"; failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
