#!/usr/bin/env bash
# Tongban vs the certified peer, side by side: see bench/README.md. Options go to bench/run.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/run.py "$@"
