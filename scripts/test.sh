#!/usr/bin/env bash
# Sets everything up (idempotent), then runs lint, types and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check pipeline flows models tests bench samples examples
.venv/bin/mypy pipeline flows models
exec .venv/bin/pytest -q "$@"
