# syntax=docker/dockerfile:1
# sohoa worker image: Tesseract (vie, eng, osd), poppler, ghostscript, fonts and
# the project. Its default command is `sohoa worker` (a Prefect process worker
# that runs flow runs in its own process); the same image runs the Prefect
# server, the watcher and the one-shot deployment job
# (docker/compose.yaml). Build from the repository root:
#   docker build -f docker/worker.Dockerfile -t sohoa-worker .

# ---- build: a virtual environment with the project, pinned by constraints.txt
FROM debian:bookworm-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

# Debian stable's own python3 (3.11), the one scripts/setup.sh uses.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml constraints.txt ./
COPY pipeline ./pipeline
COPY flows ./flows
COPY models ./models
RUN python3 -m venv /opt/sohoa \
 && /opt/sohoa/bin/pip install -c constraints.txt .

# ---- runtime
FROM debian:bookworm-slim

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The system packages of scripts/setup.sh (tests/test_docker.py keeps the two
# lists equal), plus python3 and tini (signal forwarding, zombie reaping for the
# tesseract/gs children).
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-vie tesseract-ocr-osd tesseract-ocr-eng \
      poppler-utils ghostscript \
      fonts-dejavu-core fonts-noto-core fonts-liberation2 \
      python3 tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && for lang in vie eng osd; do tesseract --list-langs 2>/dev/null | grep -qx "$lang"; done

RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/sohoa \
      --shell /usr/sbin/nologin sohoa \
 && install -d -o sohoa -g sohoa -m 0750 /var/lib/sohoa

COPY --from=build /opt/sohoa /opt/sohoa
# The sources too, so that flow entrypoints given as file paths
# (flows/dossier.py:...) resolve from the working directory.
WORKDIR /opt/sohoa/app
COPY --from=build /src/pipeline ./pipeline
COPY --from=build /src/flows ./flows
COPY --from=build /src/models ./models

# One Tesseract thread per process: pages run in parallel instead
# (SOHOA_WORKERS); OpenMP threads on top would oversubscribe the cores.
ENV PATH=/opt/sohoa/bin:$PATH \
    OMP_THREAD_LIMIT=1 \
    PYTHONUNBUFFERED=1 \
    SOHOA_STATE_DIR=/var/lib/sohoa \
    PREFECT_SERVER_ANALYTICS_ENABLED=false

RUN sohoa --help >/dev/null && prefect version >/dev/null

USER 10001:10001
VOLUME ["/var/lib/sohoa"]

ENTRYPOINT ["tini", "--"]
CMD ["sohoa", "worker", "--pool", "sohoa", "--with-healthcheck"]
