# The two README commands, plus helpers. Each installs what it needs first.
.PHONY: serve test build bench
serve:  ## install what is missing, build, serve on http://127.0.0.1:8080
	bash scripts/serve.sh
test:   ## install what is missing and run every test; ends with `N passed, N failed`
	bash scripts/test.sh
build:  ## native CLI (speed profile) and the release page into dist/
	cargo build --release && bash -c 'source scripts/tools.sh && ensure_build_tools && build_page'
bench:  ## engine speed on the busy preset, then frame work in headless Chromium
	cargo run --release -- bench
	bash -c 'source scripts/tools.sh && ensure_test_tools && build_page' && node scripts/bench-page.mjs
