"""Benchmark: a stream of small dossiers through ``sohoa batch`` against raw Tesseract.

In the same run, medians over --runs, each cold (a fresh Prefect result store):
- ``sohoa batch ROOT`` on N small dossiers (1 to 5 moderately degraded pages each);
- with ``--one-by-one``, ``sohoa process`` on each dossier in turn (the path before);
- raw ``tesseract -l vie`` (OMP_THREAD_LIMIT=1, one process per core) on clean
  renders of the same pages: the floor.

    .venv/bin/python bench/bench_batch.py [--dossiers 10] [--runs 3] [--one-by-one]

Prints the ratios (goal: batch at most 1.3x the floor); writes bench/results/latest-batch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
from pathlib import Path

from bench_process import DOCS, SOHOA, raw_tesseract  # a sibling script
from cputime import adopt_orphans, run_timed
from PIL import Image

from lab.synth.degrade import moderate
from lab.synth.dossier import SynthFile, write_dossier
from lab.synth.render import PageSpec

ROOT = Path(__file__).resolve().parents[1]


def make_backlog(work: Path, dossiers: int, seed: int) -> list[Path]:
    """``dossiers`` folders with manifests under work/root; clean renders in work/clean."""
    rng = random.Random(seed)
    clean_dir = work / "clean"
    clean_dir.mkdir(parents=True)
    clean: list[Path] = []
    for d in range(dossiers):
        files = []
        for i in range(rng.randint(1, 5)):
            doc_type, title = DOCS[(d + i) % len(DOCS)]
            page_seed = seed + 100 * d + i
            spec = PageSpec(doc_type=doc_type, title=title, seed=page_seed,
                            continuation=title is None, body_paragraphs=3, fields=6)
            files.append(SynthFile(f"{i + 1:03d}.jpg", ((spec, moderate(page_seed)),)))
        written = write_dossier(work / "root" / f"d{d:03d}", files, manifest={
            "dossier_id": f"BENCH-{d:03d}", "procedure": "birth_registration",
            "branch": "bench"})
        for w in written:
            path = clean_dir / f"d{d:03d}-{w.path.stem}.png"
            Image.fromarray(w.clean[0]).save(path, dpi=(300, 300))
            clean.append(path)
    return clean


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--one-by-one", action="store_true",
                        help="also time sohoa process on each dossier in turn")
    parser.add_argument("--scaling", action="store_true",
                        help="also time sohoa batch with 1 .. cores OCR workers "
                             "(SOHOA_WORKERS): pages per second and how it bends")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-batch-") as tmp:
        work = Path(tmp)
        clean = make_backlog(work, args.dossiers, args.seed)
        folders = sorted((work / "root").iterdir())
        env = {**os.environ, "SOHOA_STATE_DIR": str(work / "state"),
               "PREFECT_HOME": str(work / "prefect")}

        def cold(run: int) -> dict[str, str]:
            return {**env, "PREFECT_LOCAL_STORAGE_PATH": str(work / f"results-{run}")}

        adopt_orphans()  # Tesseract's readers end after the command: their CPU counts too
        run_timed([[str(SOHOA), "process", str(folders[0]), "--out", str(work / "warm")]], env)
        batch, raw, single = [], [], []
        batch_cpu: list[float] = []
        raw_cpu: list[float] = []
        scaling: dict[int, list[float]] = {n: [] for n in range(1, cores + 1)}
        for run in range(args.runs):
            wall, cpu = raw_tesseract(clean, cores)
            raw.append(wall)
            raw_cpu.append(cpu)
            batch.append(run_timed([[str(SOHOA), "batch", str(work / "root"), "--out",
                                     str(work / f"out-{run}")]], cold(run), cpu=batch_cpu))
            if args.scaling:
                for n in scaling:
                    scaling[n].append(run_timed(
                        [[str(SOHOA), "batch", str(work / "root"), "--out",
                          str(work / f"scale-{n}-{run}")]],
                        {**cold(2000 + 10 * run + n), "SOHOA_WORKERS": str(n)}))
            if args.one_by_one:
                single.append(run_timed([[str(SOHOA), "process", str(f), "--out",
                                          str(work / f"single-{run}" / f.name)] for f in folders],
                                        cold(1000 + run)))
        statuses = [json.loads(p.read_text())["status"]
                    for p in sorted((work / "out-0").glob("*/report.json"))]
    floor = statistics.median(raw)
    result = {
        "dossiers": args.dossiers, "pages": len(clean), "runs": args.runs, "cores": cores,
        "sohoa_batch_s": statistics.median(batch), "raw_tesseract_s": floor,
        "batch_ratio": statistics.median(batch) / floor,
        "sohoa_batch_cpu_s": statistics.median(batch_cpu),
        "raw_tesseract_cpu_s": statistics.median(raw_cpu),
        "cpu_ratio": statistics.median(batch_cpu) / statistics.median(raw_cpu),
        "one_by_one_s": statistics.median(single) if single else None,
        "one_by_one_ratio": statistics.median(single) / floor if single else None,
        "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
        "pages_per_s_by_workers": {n: len(clean) / statistics.median(t)
                                   for n, t in scaling.items() if t},
        "all_runs": {"batch": batch, "raw": raw, "one_by_one": single,
                     "batch_cpu": batch_cpu, "raw_cpu": raw_cpu},
    }
    print(f"{args.dossiers} dossiers, {len(clean)} pages, runs {args.runs}, cores {cores}")
    print(f"sohoa batch (cold)           {result['sohoa_batch_s']:7.2f} s (median)")
    if single:
        print(f"sohoa process, one by one    {result['one_by_one_s']:7.2f} s (median)")
    print(f"raw tesseract -l vie         {floor:7.2f} s (median)")
    print(f"batch ratio                  {result['batch_ratio']:7.2f} x   (goal <= 1.3)")
    print(f"CPU: batch / raw             {result['sohoa_batch_cpu_s']:7.1f} s / "
          f"{result['raw_tesseract_cpu_s']:.1f} s = {result['cpu_ratio']:.2f} x")
    if single:
        print(f"one-by-one ratio             {result['one_by_one_ratio']:7.2f} x")
    for n, rate in result["pages_per_s_by_workers"].items():
        print(f"batch, {n} OCR worker(s)       {rate:7.2f} pages/s  ({rate / n:.2f} per worker)")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest-batch.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
