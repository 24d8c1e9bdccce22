"""Memory on a large dossier: peak RSS of ``sohoa process`` on N simple pages.

Generates N single-page PNG files (A4 at 200 dpi, a title and a few lines,
every file different) in a temporary folder, runs ``sohoa process`` on them in
a fresh process with a fresh Prefect result store, and samples the resident
memory of the CLI process (and, separately, of its whole process tree:
Tesseract and pdftoppm children, the embedded Prefect API server) every 0.5 s.

    .venv/bin/python bench/bench_memory.py [--pages 500] [--keep DIR]

Prints peak RSS of the CLI process and of the tree, RSS at 25/50/75/100 % of the
run (flat = bounded: pixels never accumulate in the flow), the wall time, and
writes bench/results/memory-N.json. Takes ~10 minutes for 500 pages on 2 cores.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from lab.synth.render import PageSpec, render_page

ROOT = Path(__file__).resolve().parents[1]
SOHOA = Path(sys.executable).parent / "sohoa"
TITLES = [("birth_reg_form", "TỜ KHAI ĐĂNG KÝ KHAI SINH"),
          ("birth_certificate_medical", "GIẤY CHỨNG SINH"),
          ("citizen_id", "CĂN CƯỚC CÔNG DÂN"), (None, None)]


def write_pages(folder: Path, n: int) -> None:
    """N different files from a few renders (a unique mark per file: no duplicates)."""
    renders = [render_page(PageSpec(doc_type=d, title=t, seed=s, dpi=200, fields=3,
                                    body_paragraphs=1)).image
               for s, (d, t) in enumerate(TITLES * 3)]
    for i in range(n):
        img = np.array(renders[i % len(renders)], copy=True)
        img[5:9, 5 + (i % 400): 9 + (i % 400)] = 0 if i % 2 else 128  # unique content
        buf = io.BytesIO()
        Image.fromarray(img).convert("L").save(buf, format="PNG", dpi=(200, 200))
        (folder / f"{i + 1:04d}.png").write_bytes(buf.getvalue())


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                kids = Path(f"/proc/{p}/task/{tid}/children").read_text().split()
                todo.extend(int(k) for k in kids)
        except OSError:
            continue
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--keep", type=Path, help="generate/keep the dossier here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sohoa-mem-") as tmp:
        base = Path(tmp)
        folder = args.keep or base / "in"
        folder.mkdir(parents=True, exist_ok=True)
        if not any(folder.glob("*.png")):
            write_pages(folder, args.pages)
        env = {**os.environ, "PREFECT_HOME": str(base / "prefect"),
               "SOHOA_STATE_DIR": str(base / "state")}
        started = time.monotonic()
        proc = subprocess.Popen([str(SOHOA), "process", str(folder), "--procedure",
                                 "birth_registration", "--out", str(base / "out")],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        samples: list[tuple[float, int, int]] = []

        def sample() -> None:
            while proc.poll() is None:
                own = rss_kb(proc.pid)
                total = sum(rss_kb(p) for p in tree(proc.pid))
                samples.append((time.monotonic() - started, own, total))
                time.sleep(0.5)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        out, err = proc.communicate()
        thread.join()
        seconds = time.monotonic() - started
        report = json.loads((base / "out" / "report.json").read_text(encoding="utf-8"))
    if proc.returncode != 0:
        print(err.decode(errors="replace"), file=sys.stderr)
        return 1
    peak_own = max(s[1] for s in samples) / 1024
    peak_tree = max(s[2] for s in samples) / 1024
    quarters = {f"{q}%": round(samples[min(len(samples) - 1, len(samples) * q // 100)][1] / 1024)
                for q in (25, 50, 75, 100)}
    result = {"pages": args.pages, "bundle_pages": report["bundle"]["pages"],
              "status": report["status"], "seconds": round(seconds, 1),
              "peak_rss_cli_mb": round(peak_own), "peak_rss_tree_mb": round(peak_tree),
              "cli_rss_mb_at": quarters}
    print(json.dumps(result, indent=2))
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"memory-{args.pages}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
