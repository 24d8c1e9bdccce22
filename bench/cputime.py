"""CPU seconds of what a bench runs, the whole process tree included.

Wall time on a shared 2-core machine spreads by a third between runs of the same
code; within one run of a bench, the CPU a command's processes use spreads by a few
per cent, and says where the time goes. Two ways to count it:

- commands run to their end (``sohoa batch``, ``sohoa process``, raw Tesseract):
  :func:`adopt_orphans` once, then :func:`run_timed` (:func:`children_cpu_s`
  before and after). A
  process a command leaves to end on its own (Tesseract's readers end when the
  command's pipe closes) is adopted by the bench instead of init, and reaped here,
  so its CPU counts too;
- long-lived processes (the stack): :func:`tree_cpu_s` before and after, from
  ``/proc``, each process with the children it has reaped.
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
TICK = os.sysconf("SC_CLK_TCK")


def adopt_orphans() -> None:
    """Descendants whose parent ends before them become this process's children."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def children_cpu_s(settle_s: float = 5.0) -> float:
    """CPU seconds of every descendant ended so far, after reaping the adopted ones
    (waiting up to ``settle_s`` for those still ending). Call it only when no command
    of the bench is running."""
    deadline = time.monotonic() + settle_s
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
    return reaped_cpu_s()


def reaped_cpu_s() -> float:
    """CPU seconds of every descendant reaped so far (waited for by its parent)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(cmds: list[list[str]], env: dict[str, str], *, timeout_s: float = 3600,
              cpu: list[float] | None = None) -> float:
    """Wall seconds of the commands run in turn; their process trees' CPU seconds
    appended to ``cpu``."""
    before = children_cpu_s()
    start = time.perf_counter()
    for cmd in cmds:
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, timeout=timeout_s)
    wall = time.perf_counter() - start
    if cpu is not None:
        cpu.append(children_cpu_s() - before)
    return wall


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and the children it reaped)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / TICK


def tree_cpu_s(roots: dict[int, str]) -> dict[str, float]:
    """CPU seconds so far of each named root process with all its living descendants."""
    procs = {int(p): s for p in os.listdir("/proc") if p.isdigit()
             if (s := _stat(int(p))) is not None}
    totals = dict.fromkeys(roots.values(), 0.0)
    for pid, (_, cpu) in procs.items():
        at = pid
        while at not in roots and at in procs and at > 1:
            at = procs[at][0]
        if at in roots:
            totals[roots[at]] += cpu
    return totals
