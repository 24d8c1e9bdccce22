"""What a stopped or crashed stack leaves behind, cleaned when it starts again.

When ``sohoa stack`` starts, no worker of this machine is running yet, so
whatever the server still counts as held or running belongs to processes that
are gone: the OCR slots of this machine's concurrency limit are freed, and runs
still Running or Pending are marked Crashed and scheduled again (they resume
from their persisted page results; intake is untouched until delivery). With
workers on several machines (docker/), a worker's start cannot know that, and
Prefect's own lease expiry frees slots of a dead holder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("sohoa.recovery")


@dataclass(frozen=True)
class Recovered:
    slots_freed: int
    runs_rescheduled: tuple[str, ...]


def recover(limit: str, *, flows: tuple[str, ...] = ("process-dossier",)) -> Recovered:
    """Free ``limit``'s slots; mark crashed and reschedule runs of ``flows`` left running."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed, Scheduled

    freed = 0
    with get_client(sync_client=True) as client:
        try:
            held = client.read_global_concurrency_limit_by_name(limit).active_slots
        except ObjectNotFound:
            held = 0
        if held:
            client.update_global_concurrency_limit(
                limit, GlobalConcurrencyLimitUpdate(active_slots=0))
            freed = held
        alive = FlowRunFilterState(type=FlowRunFilterStateType(
            any_=[StateType.RUNNING, StateType.PENDING, StateType.CANCELLING]))
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(state=alive),
                                     flow_filter=FlowFilter(name=FlowFilterName(any_=list(flows))),
                                     limit=200)
        for run in runs:
            client.set_flow_run_state(run.id, Crashed(message="the stack stopped while this run "
                                                      "was running"), force=True)
            client.set_flow_run_state(run.id, Scheduled(), force=True)
            log.warning("flow run %s (%s) was left running by a stopped stack: run again",
                        run.id, run.name)
    if freed:
        log.warning("%d OCR slot(s) of %s were held by processes that are gone: freed",
                    freed, limit)
    return Recovered(freed, tuple(str(r.id) for r in runs))
