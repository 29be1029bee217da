"""The application's config: one YAML file, validated into a :class:`Config`.

    from newswatch.config import load_config
    config = load_config(path)          # --config PATH, else $NEWSWATCH_CONFIG, else ./newswatch.yaml
    config.database                     # the URL to open (see config/database.py)
    config.outlets, config.politeness, config.browser, config.serve, config.events,
    config.watch_rules, config.channels, config.entity_table
    config.redis, config.frontier           # the shared frontier (config/frontier.py), or None

Every problem is one :class:`ConfigError` line naming the key and its YAML line; nothing runs
from a config that does not validate. ``${VAR}`` in any string is expanded from the environment.

Adding a key:

* to an existing section (``outlets[]``, ``politeness``, ``browser``): add a field with a default
  to its dataclass in ``config/model.py``. The field's type picks the check (bool, int, float,
  str); anything else says so with ``metadata=check("urls")`` (see ``Checker`` in
  ``config/checker.py`` for the kinds: urls, regex, duration, choice, hosts, name, optional,
  secret, time_of_day, timezone, revisit).
* a new section: a frozen dataclass in ``config/model.py``, a field of that type on ``Config``
  and its name in ``SECTIONS`` there. It is parsed and checked like the others.
* then document it in ``newswatch.example.yaml``.
"""

from newswatch.config.checker import ConfigError, parse_duration
from newswatch.config.database import (
    DATABASE_ENV,
    DEFAULT_DATABASE,
    database_from_env,
    database_url,
)
from newswatch.config.frontier import REDIS_ENV
from newswatch.config.load import find_config_path, load_config, parse_config
from newswatch.config.model import (
    DEFAULT_CHROMIUM,
    DEFAULT_INTERVAL,
    EVENT_ENCODERS,
    RENDER_MODES,
    Browser,
    Config,
    Digest,
    Events,
    Frontier,
    Outlet,
    Politeness,
    Serve,
)

__all__ = ["DATABASE_ENV", "DEFAULT_CHROMIUM", "DEFAULT_DATABASE", "DEFAULT_INTERVAL", "RENDER_MODES",
           "EVENT_ENCODERS", "REDIS_ENV", "Browser", "Config", "ConfigError", "Digest", "Events", "Frontier", "Outlet",
           "Politeness", "Serve", "database_from_env",
           "database_url", "find_config_path", "load_config", "parse_config", "parse_duration"]
