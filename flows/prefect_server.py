"""Prefect's API server, its SQLite writes queueing instead of being refused.

Prefect's server opens its write transactions on SQLite as ``BEGIN DEFERRED``: a
transaction that reads first and then writes, while another connection has written,
cannot take the write lock, and SQLite refuses it at once ("database is locked"; its
busy timeout does not apply to that case). The server answers 503 and Prefect's client
asks again 2 s later: a flow run begun beside another, a worker's poll meeting a state
change, each cost that run 2 s (0 to 5 times in a batch or a stream of 10 dossiers,
bench/README.md). Here every transaction Prefect opens to write begins ``IMMEDIATE``
(its own mode for the transactions it locks rows in): it takes the write lock first,
waiting its turn under the busy timeout, and is never refused half-way. PostgreSQL
(docker/) is left as it is.

The embedded API (``flows.embedded_api``) serves this module's :func:`create_app`, and
``sohoa stack`` runs :func:`main` (``prefect server start`` with the same change).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any


def queue_sqlite_writers() -> None:
    """Make the server's SQLite transactions take the write lock when they begin.
    Before the server's database is first used; nothing for another database."""
    from prefect.server.database.configurations import AioSqliteConfiguration
    from prefect.server.database.dependencies import MODELS_DEPENDENCIES
    from prefect.server.utilities.database import get_dialect
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    url = PREFECT_API_DATABASE_CONNECTION_URL.value()
    if get_dialect(url).name != "sqlite":
        return

    class WritersQueue(AioSqliteConfiguration):
        @asynccontextmanager
        async def begin_transaction(
            self, session: Any, with_for_update: bool = False
        ) -> AsyncGenerator[Any, None]:
            async with super().begin_transaction(session, with_for_update=True) as tx:
                yield tx

    MODELS_DEPENDENCIES["database_config"] = WritersQueue(connection_url=url)


def create_app() -> Any:
    """Prefect's ``create_app`` (its settings from the environment, as uvicorn's
    ``--factory`` calls it), SQLite writers queued."""
    from prefect.server.api.server import create_app as prefect_app

    queue_sqlite_writers()
    return prefect_app()


def main() -> None:
    """``prefect server start`` with the given arguments, SQLite writers queued."""
    queue_sqlite_writers()
    from prefect.cli import app

    sys.argv = ["prefect", "server", "start", *sys.argv[1:]]
    app()


if __name__ == "__main__":
    main()
