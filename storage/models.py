"""SQLAlchemy ORM models: the schema that alembic/versions creates (keep both in step)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from newswatch.storage.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Outlet(Base):
    __tablename__ = "outlets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The render fallback's memory: this outlet's articles keep needing the browser.
    browser_first: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When a crawl of this outlet first finished with articles stored: until then every crawl
    # is its baseline (matches recorded, nothing sent). See Store.end_baseline.
    baseline_done_at: Mapped[datetime | None]


class Story(Base):
    """One news story: all URLs carrying the same (or nearly the same) text."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"))  # outlet of first sighting
    title: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(Text)
    published: Mapped[datetime | None]
    language: Mapped[str | None] = mapped_column(String(16))
    first_seen: Mapped[datetime] = mapped_column(index=True)
    last_changed: Mapped[datetime] = mapped_column(index=True)
    simhash: Mapped[int | None] = mapped_column(BigInteger)  # signed int64, latest revision
    latest_revision_id: Mapped[int | None] = mapped_column(Integer)  # no FK: avoids a cycle
    # The news event the story belongs to (a level above the story; set when it is grouped).
    # No FK: events.first_story_id points back here.
    event_id: Mapped[int | None] = mapped_column(Integer, index=True)
    event_score: Mapped[float | None] = mapped_column(Float)  # similarity to the event; None: it started it

    outlet: Mapped[Outlet] = relationship(lazy="joined")
    revisions: Mapped[list[Revision]] = relationship(
        back_populates="story", order_by="Revision.id", lazy="raise_on_sql", viewonly=True
    )


class StoryUrl(Base):
    """A URL and the story it carries, with the HTTP validators of its last fetch and its
    revisit schedule (``newswatch/revisit.py``; which URLs are due: ``Store.due_articles``)."""

    __tablename__ = "story_urls"
    __table_args__ = (Index("ix_story_urls_outlet_id_next_visit_at", "outlet_id", "next_visit_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    first_seen: Mapped[datetime]
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_fetched_at: Mapped[datetime | None]
    next_visit_at: Mapped[datetime | None]
    # NULL: never scheduled (due); 0: not visited again (older than revisit.stop_after)
    revisit_seconds: Mapped[int | None] = mapped_column(Integer)
    listed_at: Mapped[datetime | None]  # the newest <lastmod> / feed date acted on


class PageValidator(Base):
    """HTTP validators of fetched URLs that carry no story (start pages, feeds, sitemaps):
    a crawl sends them as If-None-Match / If-Modified-Since (``Store.page_validators``)."""

    __tablename__ = "page_validators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    outlet_id: Mapped[int] = mapped_column(ForeignKey("outlets.id"), index=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_fetched_at: Mapped[datetime | None]


class HostPace(Base):
    """How fast a crawl may ask a host, as the last crawl to reach it left it: AutoThrottle's
    settled delay between requests (``crawler/throttle.py``). The next crawl starts the host
    there instead of at ``AUTOTHROTTLE_START_DELAY``."""

    __tablename__ = "host_pace"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    delay: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[datetime]


class Revision(Base):
    """One distinct text of a story; content_hash is unique across all stories."""

    __tablename__ = "revisions"
    __table_args__ = (Index("ix_revisions_story_id_id", "story_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    first_seen: Mapped[datetime]

    story: Mapped[Story] = relationship(back_populates="revisions", lazy="raise_on_sql")


class StorySimhashBand(Base):
    """Near-duplicate index: bands 0-3 = 16-bit SimHash bands, 4/5 = lead/tail anchors."""

    __tablename__ = "story_simhash_bands"
    __table_args__ = (Index("ix_story_simhash_bands_band_value", "band", "value"),)

    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, primary_key=True)
    simhash: Mapped[int] = mapped_column(BigInteger)  # full hash of the revision indexed


RUN_STATUSES = ("finished", "interrupted")


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[datetime | None]
    outlets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pid: Mapped[int | None]  # the crawl's process, on ``host``: is it still running?
    host: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(20))  # None running, RUN_STATUSES


class Match(Base):
    """A watch rule matched a revision (written by the matching / alerts step)."""

    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("watch", "revision_id", name="uq_matches_watch_revision"),
        Index("ix_matches_watch_story_id", "watch", "story_id"),  # a watch's stories (web)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watch: Mapped[str] = mapped_column(String(200))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id", ondelete="CASCADE"))
    terms: Mapped[list[Any]] = mapped_column(JSON, default=list)
    snippet: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Event(Base):
    """The same news in any language and from any outlet: stories grouped by the events room."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_story_id: Mapped[int] = mapped_column(Integer, unique=True)  # the story that started it
    title: Mapped[str] = mapped_column(Text, default="")  # the first story's title
    started_at: Mapped[datetime] = mapped_column(index=True)  # the first story's time
    last_story_at: Mapped[datetime] = mapped_column(index=True)  # the latest story's time
    story_count: Mapped[int] = mapped_column(Integer, default=1)
    languages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    outlets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    grouping: Mapped[str] = mapped_column(String(16))  # encoder name, or "lexical"


class StoryEntity(Base):
    """An entity (AI organisation, product, model) a story's latest text mentions: direct hits
    of the entity table; parents are expanded when read (``EntityTable.with_parents``)."""

    __tablename__ = "story_entities"

    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    entity: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class StoryVector(Base):
    """What event grouping kept of a story, in the order stories were grouped (``id``): its
    sentence vector (None for lexical grouping). A crawl process restores the window from here
    instead of encoding it again, and reads ``id > last seen`` for what other crawls grouped."""

    __tablename__ = "story_vectors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), unique=True
    )
    encoder: Mapped[str | None] = mapped_column(String(16))
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)


def new_alert_uid() -> str:
    """A fresh alert uid: 32 hex digits (a random UUID)."""
    return uuid.uuid4().hex


ALERT_STATUSES = ("pending", "sent", "failed")
"""An alert row's ``status``: waiting to go out (again), delivered, given up on."""


class DeliveryState:
    """The delivery columns of an outbox row and of a digest: ``pending`` until its channel
    accepts it (``sent``), ``failed`` with back-off (``next_attempt_at``) and the last error."""

    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Alert(DeliveryState, Base):
    """Outbox row: one (revision, watch, channel) notification and its delivery state."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint(
            "revision_id", "watch", "channel", name="uq_alerts_revision_watch_channel"
        ),
        CheckConstraint("event IN ('new', 'updated')", name="event"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in ALERT_STATUSES)})",
                        name="status"),
        Index("ix_alerts_status_next_attempt_at", "status", "next_attempt_at"),
        # one alert per news event, watch and channel (event_slot is NULL for every-copy and
        # update alerts, and NULLs never collide)
        Index("uq_alerts_event_slot_watch_channel", "event_slot", "watch", "channel",
              unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Random, unique, fixed when the row is made: the alert's identity for receivers (payload
    # ``alert_uid``, webhook ``Idempotency-Key``, email ``Message-ID``), the same on every retry.
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=new_alert_uid)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id", ondelete="CASCADE"))
    watch: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the digest this alert goes out in (a digest channel's alerts; alerts/digest.py)
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id"), index=True)
    news_event_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the story's event
    event_slot: Mapped[int | None] = mapped_column(Integer)  # = news_event_id: one per event


class Digest(DeliveryState, Base):
    """One digest: a digest channel's alerts of one period, sent as one message (exactly once
    per (channel, period); ``key`` is its stable id, the Idempotency-Key / Message-ID)."""

    __tablename__ = "digests"
    __table_args__ = (
        UniqueConstraint("channel", "period", name="uq_digests_channel_period"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in ALERT_STATUSES)})",
                        name="status"),
        Index("ix_digests_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(64))  # "daily 2026-01-05T08:00+08:00"
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]  # the boundary it was due at
    key: Mapped[str] = mapped_column(String(80), unique=True)


class SchedulerStateRow(Base):
    """The daemon's memory of one outlet's runs (read and written by ``newswatch.scheduler``)."""

    __tablename__ = "scheduler_state"

    outlet: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_start: Mapped[datetime | None]
    last_end: Mapped[datetime | None]
    last_status: Mapped[str | None] = mapped_column(String(200))
    next_run: Mapped[datetime | None]
