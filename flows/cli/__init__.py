"""The ``sohoa`` command line (docs/contracts.md §1).

Builds the settings once from the environment, hands them to the subcommand,
and maps errors to exit codes (:class:`pipeline.errors.ExitCode`): one line on
stderr, never a traceback for an error the pipeline raised on purpose. Each
subcommand lives in its own module with ``add(sub)`` and ``run(args, settings)``;
Prefect is imported only by the commands that run flows, so ``sohoa verify``
and argument errors stay fast.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

from flows import embedded_api
from flows.cli import batch, evaluate, process, retimestamp, review, serve, train, verify
from pipeline.errors import ExitCode, SohoaError

if TYPE_CHECKING:
    from flows.settings import Settings

#: subcommand -> module that runs it
COMMANDS: dict[str, str] = {
    "process": "flows.cli.process", "batch": "flows.cli.batch", "review": "flows.cli.review",
    "verify": "flows.cli.verify", "retimestamp": "flows.cli.retimestamp",
    "train": "flows.cli.train",
    "evaluate": "flows.cli.evaluate", **{name: "flows.cli.serve" for name in serve.COMMANDS},
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sohoa", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (process, batch, review, verify, retimestamp, serve, train, evaluate):
        module.add(sub)
    return parser


def runs_flows(args: argparse.Namespace) -> bool:
    """Whether the command runs a flow (and so needs a Prefect API)."""
    return args.command in ("process", "batch") or (
        args.command == "review" and args.decisions is not None)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if runs_flows(args):  # the embedded API takes longest to start: before anything else
        embedded_api.start_if_needed(verbose=args.verbose)
    from pydantic import ValidationError

    from flows.settings import Settings

    try:
        settings = Settings.from_env()
    except ValidationError as exc:
        fields = ", ".join("SOHOA_" + str(e["loc"][0]).upper() for e in exc.errors() if e["loc"])
        print(f"sohoa: invalid settings in the environment: {fields}", file=sys.stderr)
        return ExitCode.config_error
    run: Callable[[argparse.Namespace, Settings], int] = import_module(COMMANDS[args.command]).run
    try:
        return run(args, settings)
    except SohoaError as exc:
        print(f"sohoa: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("sohoa: interrupted", file=sys.stderr)
        return ExitCode.interrupted


#: glibc's ``mallopt`` parameter for the number of malloc arenas
_M_ARENA_MAX = -8


def few_malloc_arenas() -> None:
    """At most two malloc arenas per core, before any thread starts (glibc's default:
    eight per core). Every thread that allocates while another holds an arena gets
    an arena of its own, and each keeps the page images it once held: a long-lived
    ``sohoa worker`` (task threads of several runs) peaked at 1.3-1.6 GB on a stream
    of 10 dossiers with glibc's default, 0.8-0.95 GB with four arenas, in no more
    time (bench/README.md). ``MALLOC_ARENA_MAX`` in the environment wins."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl has no arenas to limit)
        return
    libc.mallopt(_M_ARENA_MAX, 2 * (os.cpu_count() or 1))


def entry() -> None:
    """The ``sohoa`` program: :func:`main`, then exit without the interpreter's last
    collections.

    After a run the process holds a large graph of objects (Prefect, pydantic,
    SQLAlchemy, the classifier); the collections Python makes while it shuts down
    walked all of it for ~0.8 s per command. Frozen, they are left to the exit.
    Every ``atexit`` hook (Prefect's event and log flushes, the embedded API's
    stop) still runs. Malloc arenas are limited first (:func:`few_malloc_arenas`).
    """
    few_malloc_arenas()
    code = main()
    gc.freeze()
    sys.exit(code)


__all__ = ["build_parser", "entry", "main"]

if __name__ == "__main__":
    entry()
