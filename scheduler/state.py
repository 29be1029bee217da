"""The daemon's memory in the database: each outlet's last start/end/status and next run.

One small table, ``scheduler_state`` (``storage.models.SchedulerStateRow``, created by the
Alembic migrations like every other table), on the same database as the stories.
Write failures (database briefly down) are logged and never stop the daemon.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from newswatch.errors import first_line
from newswatch.scheduler.timing import OutletState
from newswatch.storage.models import SchedulerStateRow

log = logging.getLogger("newswatch.scheduler")

scheduler_state = SchedulerStateRow.__table__


class SchedulerState:
    """Read and update ``scheduler_state`` rows on an engine (of a migrated database)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self) -> dict[str, OutletState]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(scheduler_state)).mappings().all()
        return {row["outlet"]: OutletState(**row) for row in rows}

    def get(self, outlet: str) -> OutletState | None:
        return self.load().get(outlet)

    def _set(self, outlet: str, **values: Any) -> None:
        try:
            with self.engine.begin() as conn:
                done = conn.execute(
                    update(scheduler_state).where(scheduler_state.c.outlet == outlet).values(**values)
                ).rowcount
                if not done:
                    conn.execute(insert(scheduler_state).values(outlet=outlet, **values))
        except SQLAlchemyError as exc:
            log.warning("scheduler state for %s not saved: %s", outlet, first_line(exc))

    def started(self, outlet: str, at: datetime) -> None:
        self._set(outlet, last_start=at)

    def ended(self, outlet: str, at: datetime, status: str, finished: bool = True) -> None:
        """Record the end; ``finished=False`` keeps the crawl unfinished (re-crawled first)."""
        if finished:
            self._set(outlet, last_end=at, last_status=status[:200])
        else:
            self._set(outlet, last_status=status[:200])

    def scheduled(self, outlet: str, next_run: datetime | None) -> None:
        self._set(outlet, next_run=next_run)
