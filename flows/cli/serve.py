"""``sohoa serve``, ``sohoa watch`` and ``sohoa stack``: the deployed system's commands.

Prefect is imported only when a command runs (the CLI stays fast).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import InputError

if TYPE_CHECKING:
    from flows.settings import Settings

COMMANDS = ("serve", "watch", "worker", "stack", "upload", "fetch", "recover")


def add(sub: Any) -> None:
    s = sub.add_parser("serve", help="create the work pool, deployments and buckets "
                                     "on the configured Prefect server and storage")
    s.add_argument("--pool", help="work pool (default: SOHOA_WORK_POOL, else sohoa)")
    s.add_argument("--max-in-flight", type=int,
                   help="dossier runs at once over all workers (the work pool's "
                        "concurrency limit; default: SOHOA_MAX_IN_FLIGHT, else none: "
                        "each worker's --limit)")
    s.add_argument("--watch-every", type=float, metavar="SECONDS",
                   help="also schedule the watch-intake deployment at this interval")
    w = sub.add_parser("watch", help="poll intake; start one process-dossier run per dossier")
    w.add_argument("--interval", type=float, default=5.0, help="seconds between polls")
    w.add_argument("--once", action="store_true", help="poll once and exit")
    r = sub.add_parser("worker", help="run the flow runs of a work pool in this process "
                                      "(imports, classifier and signer kept between runs)")
    r.add_argument("--pool", help="work pool (default: SOHOA_WORK_POOL, else sohoa)")
    r.add_argument("--name", help="worker name (default: Prefect's, from the host)")
    r.add_argument("--limit", type=int, help="flow runs at once on this worker "
                                             "(default: no limit of its own; the deployment's "
                                             "limit holds)")
    r.add_argument("--with-healthcheck", action="store_true",
                   help="answer on PREFECT_WORKER_WEBSERVER_PORT while polling (containers)")
    k = sub.add_parser("stack", help="run SeaweedFS, a Prefect server, a worker and the "
                                     "watcher on this machine")
    k.add_argument("--dir", type=Path, help="stack data folder (default: STATE_DIR/stack)")
    k.add_argument("--port", type=int, default=4200, help="Prefect server/UI port")
    k.add_argument("--s3-port", type=int, default=8333, help="S3 port")
    k.add_argument("--max-in-flight", type=int, default=(os.cpu_count() or 1) + 1,
                   help="dossier runs at once on the stack's worker (default: this "
                        "machine's cores + 1, as "
                        "`sohoa batch`: one run's inventory, bundle and delivery overlap "
                        "another's OCR; OCR itself stays at one page per core)")
    sub.add_parser("recover", help="free this machine's OCR slots and run again the runs "
                                   "left running (only while none of its workers runs)")
    u = sub.add_parser("upload", help="act as a scanner station: put a dossier folder's "
                                      "pages, then its manifest, into intake")
    u.add_argument("folder", type=Path, help="a folder with page files and manifest.json")
    f = sub.add_parser("fetch", help="fetch report.json and bundle.pdf of a dossier "
                                     "from archive")
    f.add_argument("branch")
    f.add_argument("dossier_id")
    f.add_argument("--out", type=Path, help="output folder (default: out/DOSSIER_ID)")
    f.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait up to this long for the report to appear")


def run(args: argparse.Namespace, settings: Settings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("httpx", "urllib3", "pikepdf"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from flows.embedded_api import prefect_defaults

    if args.command == "stack":
        from flows.stack import run_stack

        return run_stack(args, settings)
    if args.command in ("upload", "fetch"):
        return transfer(args, settings)
    if not os.environ.get("PREFECT_API_URL"):
        raise InputError("PREFECT_API_URL is not set: point it at the Prefect server "
                         "(e.g. http://127.0.0.1:4200/api), or use `sohoa stack`")
    prefect_defaults(verbose=True)
    if args.command == "serve":
        return serve(settings, args.pool or settings.work_pool,
                     args.max_in_flight or settings.max_in_flight, args.watch_every)
    if args.command == "recover":
        from flows.recovery import recover
        from flows.tasks import ocr_limit_name

        done = recover(ocr_limit_name())
        print(f"recover     {done.slots_freed} OCR slot(s) freed, "
              f"{len(done.runs_rescheduled)} run(s) left running scheduled again")
        return 0
    if args.command == "worker":
        return worker(args.pool or settings.work_pool, name=args.name, limit=args.limit,
                      with_healthcheck=args.with_healthcheck)
    return watch(settings, args.interval, once=args.once)


def worker(pool: str, *, name: str | None, limit: int | None, with_healthcheck: bool) -> int:
    from flows.worker import serve_pool

    serve_pool(pool, name=name, limit=limit, with_healthcheck=with_healthcheck)
    return 0


def serve(settings: Settings, pool: str, max_in_flight: int | None,
          watch_every: float | None) -> int:
    from flows.deployments import apply_deployments
    from pipeline.storage import ensure_buckets, open_storage

    config = settings.storage
    ensure_buckets(config, open_storage(config))
    applied = apply_deployments(pool, max_in_flight=max_in_flight, watch_every_s=watch_every)
    print(f"storage     {config.where()}  buckets {', '.join(config.buckets())}")
    for name, dep_id in applied.deployments.items():
        print(f"deployment  {name}  ({dep_id})")
    cap = f"at most {max_in_flight} runs at once" if max_in_flight else "no limit of its own"
    print(f"work pool   {applied.pool} ({cap}): start workers with "
          f"`sohoa worker --pool {applied.pool} --limit N`")
    return 0


def watch(settings: Settings, interval: float, *, once: bool) -> int:
    from flows.watcher import Watcher

    watcher = Watcher.from_settings(settings)
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    print(f"watching {watcher.config.intake} every {interval:g} s", file=sys.stderr)
    watcher.run_forever(interval, stop=lambda: stopping, polls=1 if once else None)
    return 0


def transfer(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.delivery import dossier_prefix
    from pipeline.storage import ensure_buckets, open_storage
    from pipeline.transfer import fetch_results, upload_dossier

    config = settings.storage
    storage = open_storage(config)
    if args.command == "upload":
        if not (args.folder / "manifest.json").is_file():
            raise InputError(f"{args.folder} has no manifest.json (it seals the dossier)")
        ensure_buckets(config, storage)
        prefix = upload_dossier(storage, config.intake, args.folder)
        print(f"uploaded to {config.intake}/{prefix} (manifest last)")
        return 0
    prefix = dossier_prefix(args.branch, args.dossier_id)
    out = args.out or Path("out") / args.dossier_id
    report = fetch_results(storage, config.archive, prefix, out, wait_s=args.wait)
    if report is None:
        print(f"sohoa: no report in {config.archive}/{prefix} yet", file=sys.stderr)
        return 1
    print(f"status    {report['status']}")
    print(f"report    {out / 'report.json'}")
    if report.get("bundle"):
        print(f"bundle    {out / 'bundle.pdf'}")
    return 0
