#!/usr/bin/env bash
# Sets everything up, then processes the two sample dossiers (embedded default:
# local files, Prefect in-process, no server) and verifies the first bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for d in birth-complete birth-incomplete; do
  echo "== samples/$d"
  .venv/bin/sohoa process "samples/$d" --out "out/$d"
done
echo "== sohoa verify out/birth-complete/bundle.pdf"
.venv/bin/sohoa verify out/birth-complete/bundle.pdf
