"""Benchmark: manifest upload -> report.json in archive, on the local stack, vs the embedded run.

Starts SeaweedFS, a Prefect server, one ``sohoa worker`` (``--process-per-run``:
Prefect's process worker instead) and ``sohoa watch``
(interval 1 s) on 127.0.0.1, like ``sohoa stack``, in a temporary folder. For
each run it uploads the 20 pages of bench_process.py's dossier (made distinct
per run, so no cached page result is reused), then the manifest, and times
until report.json appears in archive. Then it times ``sohoa process`` (cold) on
the same pages.

With ``--stream N``, also the issue's stream: N small dossiers (bench_batch.py's
backlog, 1 to 5 pages each) uploaded at once, pages first and then every
manifest, timed until every report is in archive, against raw ``tesseract -l
vie`` (one process per core) on clean renders of the same pages right before
(goal: at most 1.5x); ``--stream-runs K`` times (the pages made distinct each
time), medians.

With ``--workers N`` (and ``--slots S``: ``SOHOA_WORKERS``, OCR slots of each),
N workers serve the same pool: more workers, no code change; the stream's
figures then say how many runs each worker took.

    .venv/bin/python bench/bench_stack.py [--pages 20] [--runs 2] [--stream 10] [--process-per-run]
        [--workers N] [--slots S] [--limit RUNS]

Writes bench/results/stack.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench_batch import make_backlog
from bench_process import make_dossier, raw_tesseract
from cputime import tree_cpu_s

from flows.deployments import apply_deployments
from flows.settings import Settings
from flows.stack import (
    BIN,
    Stack,
    free_port,
    prefect_env,
    start_prefect_server,
    start_seaweedfs,
    start_worker,
    storage_env,
    wait_s3,
)
from pipeline.storage import StorageConfig, ensure_buckets

ROOT = Path(__file__).resolve().parents[1]


def distinct_copy(src: Path, dst: Path, run: int, dossier_id: str) -> None:
    """The same pages, with a run marker after the image data (new hashes, same pixels);
    the manifest of ``src`` (or a birth registration of branch ``bench``) renamed."""
    dst.mkdir(parents=True)
    for page in sorted(src.glob("*.jpg")):
        (dst / page.name).write_bytes(page.read_bytes() + f"run-{run}".encode())
    given = src / "manifest.json"
    manifest = (json.loads(given.read_text()) if given.is_file()
                else {"branch": "bench", "procedure": "birth_registration"})
    (dst / "manifest.json").write_text(json.dumps({**manifest, "dossier_id": dossier_id}))


def time_stack_run(storage, config: StorageConfig, folder: Path, dossier_id: str) -> float:
    prefix = f"bench/{dossier_id}/"
    for page in sorted(folder.glob("*.jpg")):
        storage.put_file(config.intake, prefix + page.name, page)
    start = time.perf_counter()
    storage.put(config.intake, prefix + "manifest.json", (folder / "manifest.json").read_bytes())
    while storage.head(config.archive, prefix + "report.json") is None:
        if time.perf_counter() - start > 1800:
            raise RuntimeError(f"no report for {dossier_id} after 30 min")
        time.sleep(0.2)
    return time.perf_counter() - start


def time_stream(storage, config: StorageConfig, folders: list[Path]) -> float:
    """Every dossier's pages, then every manifest at once; seconds until the last report."""
    prefixes = []
    for folder in folders:
        manifest = json.loads((folder / "manifest.json").read_text())
        prefix = f"{manifest['branch']}/{manifest['dossier_id']}/"
        for page in sorted(folder.glob("*.jpg")):
            storage.put_file(config.intake, prefix + page.name, page)
        prefixes.append((prefix, folder / "manifest.json"))
    start = time.perf_counter()
    for prefix, manifest_file in prefixes:
        storage.put(config.intake, prefix + "manifest.json", manifest_file.read_bytes())
    waiting = {prefix + "report.json" for prefix, _ in prefixes}
    branches = {prefix.split("/", 1)[0] + "/" for prefix, _ in prefixes}
    while waiting:
        if time.perf_counter() - start > 3600:
            raise RuntimeError(f"{len(waiting)} reports missing after 60 min")
        # one listing per branch and look (a HEAD per dossier every 0.2 s cost the bench
        # a quarter of a core, taken from the stack it measures)
        waiting -= {o.key for b in branches for o in storage.list(config.archive, b)}
        time.sleep(0.25)
    return time.perf_counter() - start


def time_embedded(work: Path, run: int) -> float:
    """``sohoa process`` (cold: a fresh result store) on the same pages, made distinct."""
    folder = work / f"emb-{run}"
    distinct_copy(work / "dossier", folder, 100 + run, f"EMB-{run}")
    run_env = {**os.environ, "SOHOA_STATE_DIR": str(work / "state"),
               "PREFECT_HOME": str(work / "prefect-emb"),
               "PREFECT_LOCAL_STORAGE_PATH": str(work / f"results-{run}")}
    start = time.perf_counter()
    subprocess.run([str(BIN / "sohoa"), "process", str(folder), "--out",
                    str(work / f"out-{run}")], env=run_env, check=True,
                   stdout=subprocess.DEVNULL, timeout=1800)
    return time.perf_counter() - start


def peak_rss_mb(pid: int) -> float:
    """The worker process's own peak resident memory (its flow-run processes not counted)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def runs_by_worker(env: dict[str, str], folders: list[Path]) -> list[int]:
    """How many of these dossiers' flow runs each worker process ran (most first)."""
    from collections import Counter

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    names = [json.loads((f / "manifest.json").read_text())["dossier_id"] for f in folders]
    with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}), \
            get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=names)))
    return sorted(Counter(r.infrastructure_pid for r in runs).values(), reverse=True)


def measure_streams(stack: Stack, storage, config: StorageConfig, work: Path, dossiers: int,
                    repeats: int, *, workers: list, env: dict[str, str]) -> dict[str, object]:
    """The stream ``repeats`` times (the same pages made distinct each time, so no cached
    page result is reused), each right after raw Tesseract on the same pages: medians."""
    clean = make_backlog(work / "stream", dossiers, seed=7)
    backlog = sorted((work / "stream" / "root").iterdir())
    roots = {c.process.pid: "worker" if c.name.startswith("worker") else c.name
             for c in stack.children}
    tries = []
    for k in range(repeats):
        folders = []
        for src in backlog:
            folders.append(work / "stream" / f"r{k}" / src.name)
            dossier_id = json.loads((src / "manifest.json").read_text())["dossier_id"]
            distinct_copy(src, folders[-1], 1000 + k, f"{dossier_id}-R{k}")
        raw, raw_cpu = raw_tesseract(clean, os.cpu_count() or 1)
        before = tree_cpu_s(roots)  # CPU over the stream of each process of the stack
        seconds = time_stream(storage, config, folders)
        cpu = {name: round(s - before[name], 1) for name, s in tree_cpu_s(roots).items()}
        tries.append({"raw_tesseract_s": raw, "stack_s": seconds, "ratio": seconds / raw,
                      "cpu_s_by_process": cpu, "raw_tesseract_cpu_s": round(raw_cpu, 1),
                      "cpu_ratio": sum(cpu.values()) / raw_cpu,
                      "runs_by_worker": runs_by_worker(env, folders)})
        print(f"stream {k}: {seconds:.1f} s, raw tesseract {raw:.1f} s, "
              f"{seconds / raw:.2f}x; CPU {cpu}, raw {raw_cpu:.1f} s", flush=True)

    def median(key: str) -> float:
        return statistics.median(float(t[key]) for t in tries)  # type: ignore[arg-type]

    stack_s = median("stack_s")
    return {"dossiers": dossiers, "pages": len(clean), "repeats": len(tries),
            "raw_tesseract_s": median("raw_tesseract_s"), "stack_s": stack_s,
            "ratio": median("ratio"), "pages_per_s": len(clean) / stack_s,
            "worker_peak_rss_mb": max(peak_rss_mb(w.process.pid) for w in workers),
            "runs_by_worker": tries[-1]["runs_by_worker"],
            "cpu_s_by_process": {name: statistics.median(t["cpu_s_by_process"][name]
                                                         for t in tries)
                                 for name in tries[0]["cpu_s_by_process"]},
            "raw_tesseract_cpu_s": median("raw_tesseract_cpu_s"),
            "cpu_ratio": median("cpu_ratio"), "all": tries}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--stream", type=int, default=0,
                        help="also N small dossiers uploaded at once (0: not measured)")
    parser.add_argument("--stream-runs", type=int, default=3,
                        help="times the stream is measured (medians; each against raw "
                             "Tesseract right before it)")
    parser.add_argument("--process-per-run", action="store_true",
                        help="Prefect's process worker (a new process per flow run) instead "
                             "of `sohoa worker` (flow runs in the worker's own process)")
    parser.add_argument("--workers", type=int, default=1,
                        help="workers serving the pool (each its own process)")
    parser.add_argument("--slots", type=int, default=0,
                        help="OCR slots of each worker (SOHOA_WORKERS; 0: one per core)")
    parser.add_argument("--limit", type=int, default=(os.cpu_count() or 1) + 1,
                        help="runs at once on each worker (its --limit; default cores + 1, "
                             "as `sohoa stack`)")
    args = parser.parse_args()
    stream: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-stack-",
                                     ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        make_dossier(work, args.pages)
        stack = Stack()
        try:
            creds = start_seaweedfs(stack, work / "s3", free_port())
            port = free_port()
            env = {**prefect_env(os.environ, work / "prefect", port), **storage_env(*creds),
                   "SOHOA_STATE_DIR": str(work / "state"), "PREFECT_UI_ENABLED": "false",
                   "PREFECT_LOGGING_LEVEL": "WARNING",
                   # generated pages may leave questions: deliver as before, no one answers
                   "SOHOA_REVIEW_WAIT_HOURS": "0"}
            wait_s3(stack, env)
            config = Settings.from_env(env).storage
            storage = config.open()
            ensure_buckets(config, storage)
            start_prefect_server(stack, env, port, work / "logs", ui=False)
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: env["PREFECT_API_URL"]}):
                apply_deployments("sohoa")  # each worker its own --limit, the pool no cap
            worker_env = {**env, "SOHOA_WORKERS": str(args.slots)} if args.slots else env
            workers = [start_worker(stack, worker_env, "sohoa", work / "logs",
                                    f"worker-{n + 1}", limit=args.limit,
                                    process_per_run=args.process_per_run)
                       for n in range(args.workers)]
            stack.start("watcher", [str(BIN / "sohoa"), "watch", "--interval", "1"], env,
                        work / "logs")
            stack_times, embedded = [], []
            for run in range(-1, args.runs):  # run -1: warm-up (dev certificate, database)
                folder = work / f"in-{run}"
                distinct_copy(work / "dossier", folder, run, f"BENCH-{run + 1}")
                seconds = time_stack_run(storage, config, folder, f"BENCH-{run + 1}")
                print(f"stack run {run}: {seconds:.1f} s", flush=True)
                if run < 0:
                    continue
                stack_times.append(seconds)
                # the embedded run right after, under the same machine load (stack idle)
                embedded.append(time_embedded(work, run))
                print(f"embedded run {run}: {embedded[-1]:.1f} s", flush=True)
            if args.stream:
                stream = measure_streams(stack, storage, config, work, args.stream,
                                         args.stream_runs, workers=workers, env=env)
        finally:
            stack.stop()
    result: dict[str, object] = {"pages": args.pages, "runs": args.runs,
                                 "runs_per_worker": args.limit, "workers": args.workers,
                                 "slots_per_worker": args.slots or os.cpu_count(),
                                 "worker": "process per run" if args.process_per_run
                                 else "sohoa worker (in process)",
                                 "cores": os.cpu_count(), "stream": stream,
                                 "all_runs": {"stack": stack_times, "embedded": embedded}}
    if stack_times:  # --runs 0: the stream alone
        upload, emb = statistics.median(stack_times), statistics.median(embedded)
        result.update(manifest_to_report_s=upload, embedded_process_s=emb,
                      overhead_s=upload - emb)
        print(f"manifest upload -> report in archive {upload:7.1f} s (median)")
        print(f"sohoa process (embedded, cold)       {emb:7.1f} s (median)")
        print(f"overhead of the deployed system      {upload - emb:+7.1f} s")
    if stream:
        print(f"stream of {stream['dossiers']} dossiers ({stream['pages']} pages) "
              f"uploaded at once: {stream['stack_s']:.1f} s to the last report "
              f"({stream['pages_per_s']:.2f} pages/s, median of {stream['repeats']}); "
              f"raw tesseract {stream['raw_tesseract_s']:.1f} s; "
              f"ratio {stream['ratio']:.2f}x (goal <= 1.5); "
              f"worker peak RSS {stream['worker_peak_rss_mb']:.0f} MB; "
              f"{args.workers} worker(s) x {result['slots_per_worker']} OCR slots, "
              f"runs by worker {stream['runs_by_worker']}")
        print(f"CPU over the stream (medians) {stream['cpu_s_by_process']}, raw tesseract "
              f"{stream['raw_tesseract_cpu_s']} s: {stream['cpu_ratio']:.2f}x")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "stack.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
