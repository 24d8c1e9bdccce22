"""Review inside the run: a dossier with open questions suspends and asks a supervisor.

The run suspends (its worker and OCR slots are freed) with a typed input form
(a ``RunInput`` built for this dossier, so the Prefect UI renders a select of
the catalog's types and shows the questions above the form). A resume with an
answer (the UI, ``resume_flow_run`` or ``POST /api/flow_runs/{id}/resume``)
schedules the run again; it runs from the top, its page results come back from
the persisted cache, and the same ``suspend_flow_run`` key returns the answer.
An answer that does not fit the dossier (an index out of range, a split outside
its document) asks again under the next key, the reason on top of the form.

Runs waiting are tagged ``awaiting-review``; a finished run is tagged with its
dossier status (``status:needs_review`` ...), both filterable in the UI's run list.
The watcher answers for supervisors who do not answer in time
(:func:`expire_reviews`): the run then delivers as if it had not asked
(``needs_review``, or ``incomplete`` when something is provably missing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal, cast

from pydantic import BaseModel, Field, create_model

from models.review import DocumentAnswer, PageAnswer, ReviewAnswer
from models.schemas import UNKNOWN, Catalog, Procedure
from pipeline.assemble import Plan
from pipeline.review import EXPIRED_REVIEWER, ReviewError, apply_review, prefilled

AWAITING = "awaiting-review"
MAX_ASKS = 20
log = logging.getLogger("sohoa.review")


def review_form(plan: Plan, catalog: Catalog) -> type[BaseModel]:
    """The input form of this dossier: catalog types as a select, its questions as indices."""
    from prefect.input import RunInput

    types = Literal[tuple([*catalog.doc_type_ids, UNKNOWN])]  # type: ignore[valid-type]
    docs = tuple(range(len(plan.documents))) or (0,)
    pages = tuple(plan.review_pages) or (0,)
    doc_fields: dict[str, Any] = {
        "document": (Literal[docs], Field(description="Document number (see the questions)")),
        "doc_type": (types, Field(description="What it is (unknown: a paper no requirement "
                                              "asks for)"))}
    doc_model = create_model("DocumentDecision", __base__=DocumentAnswer, **doc_fields)
    page_fields: dict[str, Any] = {
        "page": (Literal[pages], Field(description="Page number (see the questions)"))}
    page_model = create_model("PageDecision", __base__=PageAnswer, **page_fields)
    fields: dict[str, Any] = {
        "reviewer": (str, Field(min_length=1, description="Your name")),
        "note": (str, Field(default="", description="A note kept in the report")),
        "documents": (list[doc_model], Field(default_factory=list)),  # type: ignore[valid-type]
        "pages": (list[page_model], Field(default_factory=list)),  # type: ignore[valid-type]
    }
    return cast(type[BaseModel], create_model("ReviewDecisions", __base__=RunInput, **fields))


def initial_answer(plan: Plan) -> dict[str, Any]:
    """The form filled with the best guesses: the supervisor confirms or corrects them."""
    return prefilled(((i, plan.documents[i].doc_type,
                       [c.doc_type for c in plan.documents[i].candidates])
                      for i in plan.review_documents), plan.review_pages)


def questions(plan: Plan, catalog: Catalog, *, dossier_id: str, links: dict[str, str],
              wait: timedelta | None, error: str | None) -> str:
    """The markdown shown above the form: each uncertain document and unreadable page."""
    lines = [f"## {dossier_id}: review needed", ""]
    if error:
        lines += [f"**Your last answer was not applied: {error}.** Please answer again.", ""]
    doubtful = plan.checklist.doubtful
    if doubtful:
        lines += [f"Might be missing: **{', '.join(doubtful)}**", ""]
    for i in plan.review_documents:
        d = plan.documents[i]
        where = _pages_of(plan, d.page_indices)
        cands = ", ".join(f"{c.doc_type} {c.score:.2f}" for c in d.candidates) or "none"
        files = ", ".join(f"[{n}]({links[n]})" if n in links else n
                          for n in dict.fromkeys(o.ref.source for o in where))
        name = catalog.doc_type(d.doc_type).name_vi if d.doc_type in catalog.doc_type_ids else ""
        lines.append(f"- **Document {i}**: `{d.doc_type}` {name} ({d.confidence:.2f}), bundle "
                     f"pages {[p + 1 for p in d.page_indices]}; candidates: {cands}; "
                     f"files: {files}")
    for i in plan.review_pages:
        o = plan.outcomes[i]
        link = links.get(o.ref.source)
        shown = f"[{o.ref.source}]({link})" if link else o.ref.source
        lines.append(f"- **Page {i}** ({shown} page {o.ref.source_page}) could not be read: "
                     f"{o.error}")
    lines += ["", "Set each document's type (split: add a line for the same document with "
              "`from_page`; merge: tick `merge_with_previous`); choose rescan or leave out "
              "for each unreadable page; give your name."]
    if wait is not None:
        lines.append(f"Unanswered after {wait.total_seconds() / 3600:g} h, the dossier is "
                     "delivered without review (these questions stay in its report).")
    return "\n".join(lines)


def _pages_of(plan: Plan, bundle_pages: Sequence[int]) -> list[Any]:
    return [o for o, b in zip(plan.outcomes, plan.bundle_index, strict=True)
            if b is not None and b in bundle_pages]


def settle_by_review(plan: Plan, *, catalog: Catalog, procedure: Procedure,
                     facts: dict[str, bool], review_threshold: float, dossier_id: str,
                     links: Callable[[], dict[str, str]], wait: timedelta | None) -> Plan:
    """``plan`` with a supervisor's answer applied; suspends the run until there is one."""
    if not (plan.review_documents or plan.review_pages) or not deployed_run():
        return plan  # only a deployment's run can suspend (and be resumed by a worker)
    from prefect.flow_runs import suspend_flow_run

    error = None
    form = review_form(plan, catalog)
    for ask in range(1, MAX_ASKS + 1):
        text = questions(plan, catalog, dossier_id=dossier_id, links=links(), wait=wait,
                         error=error)
        with_data: Any = form.with_initial_data(description=text,  # type: ignore[attr-defined]
                                                **initial_answer(plan))
        tag_run(add=(AWAITING,))
        publish_questions(dossier_id, text)
        got: Any = suspend_flow_run(wait_for_input=with_data, key=f"review-{ask}")
        answer = ReviewAnswer.model_validate(got.model_dump())
        try:
            done = apply_review(plan, answer, doc_types=catalog.doc_type_ids,
                                procedure=procedure, facts=facts,
                                review_threshold=review_threshold,
                                at=datetime.now(timezone(timedelta(hours=7))).replace(
                                    microsecond=0))
        except ReviewError as exc:
            error = exc.message
            continue
        tag_run(remove=(AWAITING,))
        return done
    raise ReviewError(f"no answer fitted the dossier in {MAX_ASKS} tries: {error}")


def deployed_run() -> bool:
    """Whether this flow run belongs to a deployment (called in-process, it cannot wait)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


def publish_questions(dossier_id: str, text: str) -> None:
    """The questions as an artifact too: the run's Artifacts tab shows them in any UI theme
    (the resume dialog of Prefect's dark theme draws them dark on dark)."""
    from prefect.artifacts import create_markdown_artifact

    key = "".join(c if c.isalnum() else "-" for c in dossier_id.lower())[:60]
    create_markdown_artifact(key=f"review-{key}", markdown=text,
                             description=f"Review needed — {dossier_id}")


def tag_run(*, add: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
    """Add or remove tags of the current flow run (what the UI's run list filters on)."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(context.flow_run.id)
        tags = [t for t in run.tags if t not in remove and t not in add] + list(add)
        if sorted(tags) != sorted(run.tags):
            client.update_flow_run(context.flow_run.id, tags=tags)


def expire_reviews(wait: timedelta, *, deployment_id: Any | None = None,
                   now: datetime | None = None) -> list[str]:
    """Answer, as :data:`EXPIRED_REVIEWER`, every run suspended for review longer than
    ``wait``: it then delivers as if it had not asked (the questions stay in the report,
    the status is what the pages say). Returns the runs it resumed."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateName,
        FlowRunFilterTags,
    )
    from prefect.flow_runs import resume_flow_run

    now = now or datetime.now(UTC)
    suspended = FlowRunFilterState(name=FlowRunFilterStateName(any_=["Suspended"]))
    flt = FlowRunFilter(state=suspended, tags=FlowRunFilterTags(all_=[AWAITING]))
    resumed = []
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=flt, limit=200)
    for run in runs:
        since = run.state.timestamp if run.state is not None else None
        if since is None or now - since < wait:
            continue
        note = f"no answer within {wait}"
        resume_flow_run(run.id, run_input=ReviewAnswer(reviewer=EXPIRED_REVIEWER,
                                                       note=note).model_dump(mode="json"))
        log.warning("flow run %s (%s): review not answered within %s; delivered without "
                    "it (the questions stay in the report)", run.id, run.name, wait)
        resumed.append(str(run.id))
    return resumed
