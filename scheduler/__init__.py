"""The daemon: when a crawl runs. APScheduler jobs, one child process per crawl, persisted run times.

Public entry point: :func:`scheduler.daemon.run_daemon` (the ``newswatch daemon`` command).
"""
