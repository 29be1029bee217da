"""Imported by the extraction pool's forkserver (its preload list, ``crawler/workers.py``):
the forkserver dies with the crawl or worker process that started it, instead of staying
behind, with its pool, when that process is killed (``kill -9``, a daemon's guard)."""

import os

from newswatch.lifeline import die_with_parent

if not die_with_parent():  # our starter is already gone
    os._exit(0)
