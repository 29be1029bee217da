"""The revisit policy (newswatch/revisit.py) and the clock tests move (newswatch/clock.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newswatch import clock
from newswatch.revisit import DAY, HOUR, RevisitPolicy, next_visit

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
POLICY = RevisitPolicy()


def test_a_new_article_is_rechecked_after_min_then_doubling_up_to_max():
    visit = next_visit(POLICY, now=T0, origin=T0, previous=None, changed=False)
    assert (visit.at, visit.interval) == (T0 + timedelta(hours=1), HOUR)
    intervals, now, previous = [], T0, None
    for _ in range(12):
        visit = next_visit(POLICY, now=now, origin=T0, previous=previous, changed=False)
        intervals.append(visit.interval)
        if visit.at is None:
            break
        now, previous = visit.at, visit.interval
    assert intervals[:4] == [HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR]
    assert max(intervals) <= POLICY.max
    assert visit.at is None  # stopped after stop_after
    assert now == T0 + timedelta(seconds=POLICY.stop_after)  # the last visit is at the end


def test_a_change_shortens_the_interval_to_min():
    visit = next_visit(POLICY, now=T0 + timedelta(hours=5), origin=T0, previous=8 * HOUR,
                       changed=True)
    assert visit.interval == HOUR


def test_an_old_article_is_not_rechecked_hourly():
    visit = next_visit(POLICY, now=T0 + timedelta(days=8), origin=T0, previous=None,
                       changed=False)
    assert visit.interval == DAY  # an eighth of its age
    assert next_visit(POLICY, now=T0 + timedelta(days=31), origin=T0, previous=None,
                      changed=False).at is None


def test_the_clock_moves_with_newswatch_now(monkeypatch):
    monkeypatch.setenv("NEWSWATCH_NOW", "2026-11-01T10:00:00+02:00")
    assert clock.now() == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    monkeypatch.setenv("NEWSWATCH_NOW", "2026-11-01T08:00Z")
    assert clock.now() == T0
    for unusable in ("tomorrow", "2026-11-01T08:00"):  # no offset: which zone is meant?
        monkeypatch.setenv("NEWSWATCH_NOW", unusable)
        with pytest.raises(ValueError, match=r"^NEWSWATCH_NOW: expected an ISO 8601 time"):
            clock.now()
