"""Imported by the extraction workers' fork server before it forks them, in an outlet's first
crawl (``workers.pool(encoder=...)``): loads the grouping encoder that
``$NEWSWATCH_FORKSERVER_ENCODER`` names (an ``events.encoder`` setting), once, so that every
worker starts with its model, the pages shared, instead of loading its own (~0.5 s of CPU and
~100 MB each)."""

from __future__ import annotations

import os

from newswatch.crawler import workers

if setting := os.environ.get(workers.ENCODER_ENV):
    workers.preload_encoder(setting)
