#!/usr/bin/env bash
# Sets everything up (idempotent), then runs lint, types, the import contract
# (the layers of docs/architecture.md) and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check pipeline flows models lab tests bench samples examples
.venv/bin/mypy pipeline flows models lab
.venv/bin/lint-imports
exec .venv/bin/pytest -q "$@"
