#!/usr/bin/env bash
# Installs what sohoa needs on a Debian machine (run as root for the system
# packages) and the project into .venv. Idempotent and quick when done before.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(tesseract-ocr tesseract-ocr-vie tesseract-ocr-osd tesseract-ocr-eng
  poppler-utils ghostscript fonts-dejavu-core fonts-noto-core fonts-liberation2)
# for the test suite only (not in the worker image): the test that drives the
# Prefect UI in a real browser
TEST_APT_PACKAGES=(chromium)

need_apt=0
for cmd in tesseract pdftoppm pdftotext pdffonts gs chromium; do
  command -v "$cmd" >/dev/null 2>&1 || need_apt=1
done
if [ "$need_apt" = 0 ]; then
  langs=$(tesseract --list-langs 2>/dev/null || true)
  for l in vie eng osd; do grep -qx "$l" <<<"$langs" || need_apt=1; done
  for f in /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
           /usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf \
           /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf; do
    [ -f "$f" ] || need_apt=1
  done
fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  APT_PACKAGES+=(python3-venv); need_apt=1
fi
if [ "$need_apt" = 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: system packages missing; run as root or install:" \
      "${APT_PACKAGES[*]} ${TEST_APT_PACKAGES[*]}" >&2
    exit 1
  fi
  echo "setup: installing system packages: ${APT_PACKAGES[*]} ${TEST_APT_PACKAGES[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${APT_PACKAGES[@]}" "${TEST_APT_PACKAGES[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.sohoa-installed
want=$(cat pyproject.toml constraints.txt 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing the project into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  if [ -f constraints.txt ]; then
    .venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]'
  else
    .venv/bin/python -m pip install -q -e '.[dev]'
  fi
  echo "$want" > "$stamp"
fi
