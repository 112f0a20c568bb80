#!/usr/bin/env bash
# README command 1: install what is missing, build, serve on http://127.0.0.1:8080
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
ensure_build_tools
cd "$ROOT"
say "serving on http://127.0.0.1:8080 (Ctrl-C stops)"
exec trunk serve --release
