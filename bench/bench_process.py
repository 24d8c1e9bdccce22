"""Benchmark: ``sohoa process`` on a 20-page dossier against raw Tesseract.

In the same run, it times (medians over --runs):
- ``sohoa process`` on moderately degraded scans of 20 Vietnamese pages, cold
  (a fresh Prefect result store each run, so no cached page is reused);
- raw ``tesseract -l vie`` (OMP_THREAD_LIMIT=1, one process per core) on clean
  renders of the same pages;
- ``sohoa process`` on a one-page dossier (its first page), cold: the fixed cost a
  user waits for (goal: at most 3 s);
- a trivial Prefect flow in a fresh process (the fixed cost of Prefect's own
  ephemeral API, which the CLI avoids by starting its own early).

    .venv/bin/python bench/bench_process.py [--pages 20] [--runs 3]

Prints a table and the ratio (goal: at most 1.3x); writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cputime import adopt_orphans, reaped_cpu_s, run_timed  # a sibling module
from PIL import Image

from lab.synth.degrade import moderate
from lab.synth.dossier import SynthFile, write_dossier
from lab.synth.render import PageSpec

ROOT = Path(__file__).resolve().parents[1]
SOHOA = Path(sys.executable).parent / "sohoa"
DOCS = [("birth_reg_form", "TỜ KHAI ĐĂNG KÝ KHAI SINH"), (None, None),
        ("birth_certificate_medical", "GIẤY CHỨNG SINH"), ("citizen_id", "CĂN CƯỚC CÔNG DÂN"),
        ("authorization", "GIẤY ỦY QUYỀN"), (None, None), ("marriage_certificate",
        "GIẤY CHỨNG NHẬN KẾT HÔN"), ("land_certificate", "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT")]
TRIVIAL_FLOW = (
    "from prefect import flow, task\n"
    "@task\ndef t(x): return x\n"
    "@flow\ndef f(): return [r.result() for r in t.map(range(4))]\n"
    "f()\n"
)


def make_dossier(folder: Path, pages: int) -> list[Path]:
    files = []
    for i in range(pages):
        doc_type, title = DOCS[i % len(DOCS)]
        spec = PageSpec(doc_type=doc_type, title=title, seed=1000 + i,
                        continuation=title is None, body_paragraphs=3, fields=6)
        files.append(SynthFile(f"{i + 1:03d}.jpg", ((spec, moderate(1000 + i)),)))
    written = write_dossier(folder / "dossier", files)
    clean_dir = folder / "clean"
    clean_dir.mkdir()
    clean = []
    for w in written:
        path = clean_dir / f"{w.path.stem}.png"
        Image.fromarray(w.clean[0]).save(path, dpi=(300, 300))
        clean.append(path)
    return clean


def raw_tesseract(pages: list[Path], workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of raw Tesseract on the pages, one process per core."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def one(p: Path) -> None:
        subprocess.run(["tesseract", str(p), "-", "-l", "vie"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)

    cpu = reaped_cpu_s()  # each process is waited for: no adoption needed
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, pages))
    return time.perf_counter() - start, reaped_cpu_s() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-") as tmp:
        work = Path(tmp)
        clean = make_dossier(work, args.pages)
        env = {**os.environ, "SOHOA_STATE_DIR": str(work / "state"),
               "PREFECT_HOME": str(work / "prefect")}

        (work / "one").mkdir()
        shutil.copy(work / "dossier" / "001.jpg", work / "one" / "001.jpg")

        def sohoa(run: int, folder: str = "dossier", cpu: list[float] | None = None) -> float:
            run_env = {**env, "PREFECT_LOCAL_STORAGE_PATH": str(work / f"results-{folder}{run}")}
            return run_timed([[str(SOHOA), "process", str(work / folder), "--procedure",
                               "birth_registration", "--out", str(work / f"out-{folder}{run}")]],
                             run_env, cpu=cpu)

        adopt_orphans()  # Tesseract's readers end after the command: their CPU counts too
        sohoa(-1)  # warm-up: creates the Prefect database and the dev certificate
        ours, raw, trivial, one_page = [], [], [], []
        ours_cpu: list[float] = []
        raw_cpu: list[float] = []
        for run in range(args.runs):
            wall, cpu = raw_tesseract(clean, cores)
            raw.append(wall)
            raw_cpu.append(cpu)
            ours.append(sohoa(run, cpu=ours_cpu))
            one_page.append(sohoa(run, "one"))
            trivial.append(run_timed([[sys.executable, "-c", TRIVIAL_FLOW]],
                                     {**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                                      "PREFECT_LOGGING_LEVEL": "WARNING"}))
        report = json.loads((work / "out-dossier0" / "report.json").read_text())
        bundle_kb = (work / "out-dossier0" / "bundle.pdf").stat().st_size / 1024
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "pages": args.pages, "runs": args.runs, "cores": cores,
        "sohoa_process_s": statistics.median(ours),
        "raw_tesseract_s": statistics.median(raw),
        "ratio": statistics.median(ours) / statistics.median(raw),
        "sohoa_process_cpu_s": statistics.median(ours_cpu),
        "raw_tesseract_cpu_s": statistics.median(raw_cpu),
        "cpu_ratio": statistics.median(ours_cpu) / statistics.median(raw_cpu),
        "one_page_s": statistics.median(one_page),
        "trivial_prefect_flow_s": statistics.median(trivial),
        "status": report["status"], "bundle_kb_per_page": bundle_kb / args.pages,
        "peak_rss_mb_any_child": peak_mb,
        "all_runs": {"sohoa": ours, "raw": raw, "one_page": one_page, "trivial": trivial,
                     "sohoa_cpu": ours_cpu, "raw_cpu": raw_cpu},
    }
    print(f"pages {args.pages}, runs {args.runs}, cores {cores}")
    print(f"sohoa process (cold)         {result['sohoa_process_s']:7.2f} s (median)")
    print(f"raw tesseract -l vie         {result['raw_tesseract_s']:7.2f} s (median)")
    print(f"ratio                        {result['ratio']:7.2f} x   (goal <= 1.3)")
    print(f"CPU: sohoa process / raw     {result['sohoa_process_cpu_s']:7.1f} s / "
          f"{result['raw_tesseract_cpu_s']:.1f} s = {result['cpu_ratio']:.2f} x")
    print(f"sohoa process, one page      {result['one_page_s']:7.2f} s (median; goal <= 3)")
    print(f"trivial Prefect flow process {result['trivial_prefect_flow_s']:7.2f} s (fixed cost)")
    print(f"bundle                       {result['bundle_kb_per_page']:7.0f} KB/page; "
          f"dossier status {result['status']}")
    print(f"peak RSS of a child process  {peak_mb:7.0f} MB")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
