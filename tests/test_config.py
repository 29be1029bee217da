"""Config loading: defaults, env expansion, and one-line errors naming the key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswatch.config import (
    ConfigError,
    find_config_path,
    load_config,
    parse_config,
    parse_duration,
)

GOOD = """\
database: sqlite:///x.db
outlets:
  - name: heldout
    start_urls: [https://example.com/ai/]
    article_url: '/news/\\d{4}/'
    render: auto
    interval: 15m
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newswatch.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_good_config_loads(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSWATCH_DATABASE_URL", raising=False)
    config = load_config(write(tmp_path, GOOD))
    outlet = config.outlet("heldout")
    assert config.database == f"sqlite:///{tmp_path}/x.db"  # next to the config file
    assert outlet.start_urls == ("https://example.com/ai/",)
    assert outlet.interval_seconds == 900
    assert outlet.article_pattern.search("https://example.com/news/2026/a.html")


def test_database_default_and_env_override(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSWATCH_DATABASE_URL", raising=False)
    text = GOOD.replace("database: sqlite:///x.db\n", "")
    assert load_config(write(tmp_path, text)).database == f"sqlite:///{tmp_path}/newswatch.db"
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", "sqlite:////srv/other.db")
    assert load_config(write(tmp_path, text)).database == "sqlite:////srv/other.db"


def test_relative_sqlite_paths(tmp_path, monkeypatch):
    """In the config file: relative to the file's folder, wherever the command runs; in
    $NEWSWATCH_DATABASE_URL: relative to the current folder (a path typed in a shell)."""
    monkeypatch.delenv("NEWSWATCH_DATABASE_URL", raising=False)
    (tmp_path / "conf").mkdir()
    (tmp_path / "elsewhere").mkdir()
    path = tmp_path / "conf" / "newswatch.yaml"
    path.write_text(GOOD.replace("sqlite:///x.db", "sqlite:///data/x.db"), encoding="utf-8")
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert load_config(path).database == f"sqlite:///{tmp_path}/conf/data/x.db"
    assert load_config("../conf/newswatch.yaml").database == f"sqlite:///{tmp_path}/conf/data/x.db"
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", "sqlite:///env.db")
    assert load_config(path).database == f"sqlite:///{tmp_path}/elsewhere/env.db"
    for kept in ("sqlite://", "sqlite:///:memory:", "sqlite:////abs/x.db"):
        monkeypatch.setenv("NEWSWATCH_DATABASE_URL", kept)
        assert load_config(path).database == kept


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg"])
def test_postgres_urls_mean_postgresql_through_psycopg(tmp_path, monkeypatch, scheme):
    monkeypatch.delenv("NEWSWATCH_DATABASE_URL", raising=False)
    text = GOOD.replace("sqlite:///x.db", f"{scheme}://nw:pw@db.example.com:5432/nw")
    expected = "postgresql+psycopg://nw:pw@db.example.com:5432/nw"
    assert load_config(write(tmp_path, text)).database == expected
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", f"{scheme}://nw:pw@db.example.com:5432/nw")
    assert load_config(write(tmp_path, GOOD)).database == expected


def test_config_path_lookup_order(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSWATCH_CONFIG", str(tmp_path / "env.yaml"))
    assert find_config_path("given.yaml") == Path("given.yaml")
    assert find_config_path(None) == tmp_path / "env.yaml"
    monkeypatch.delenv("NEWSWATCH_CONFIG")
    assert find_config_path(None) == Path("newswatch.yaml")


def test_unknown_key_names_key_and_line(tmp_path):
    message = error_of(tmp_path, GOOD + "    colour: blue\n")
    assert "outlets[0].colour" in message and "unknown key" in message and ":8:" in message


def test_unknown_top_level_key(tmp_path):
    assert "outletz" in error_of(tmp_path, GOOD.replace("outlets:", "outletz:"))


def test_bad_url(tmp_path):
    message = error_of(tmp_path, GOOD.replace("https://example.com/ai/", "ftp//nowhere"))
    assert "outlets[0].start_urls[0]" in message and "bad URL" in message and ":4:" in message


def test_bad_regex(tmp_path):
    message = error_of(tmp_path, GOOD.replace("'/news/\\d{4}/'", "'/news/(\\d{4}/'"))
    assert "outlets[0].article_url" in message and "bad regex" in message


def test_duplicate_outlet_name(tmp_path):
    text = GOOD + "  - name: heldout\n    feeds: [https://example.com/rss]\n"
    message = error_of(tmp_path, text)
    assert "duplicate outlet name 'heldout'" in message and "outlets[1].name" in message


def test_bad_render_and_interval(tmp_path):
    assert "outlets[0].render" in error_of(tmp_path, GOOD.replace("render: auto", "render: maybe"))
    assert "outlets[0].interval" in error_of(tmp_path, GOOD.replace("15m", "soon"))


def test_missing_env_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("NW_TEST_SECRET", raising=False)
    text = GOOD + "notify:\n  hook: {webhook: 'http://127.0.0.1/x', secret: '${NW_TEST_SECRET}'}\n"
    message = error_of(tmp_path, text)
    assert "NW_TEST_SECRET" in message and "notify.hook.secret" in message
    monkeypatch.setenv("NW_TEST_SECRET", "s3cret")
    assert load_config(write(tmp_path, text)).notify["hook"]["secret"] == "s3cret"


def test_invalid_yaml_names_line(tmp_path):
    message = error_of(tmp_path, GOOD + "  - name: [unclosed\n")
    assert "invalid YAML" in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_cli_bad_config_exits_2_and_crawls_nothing(tmp_path, cli, site):
    path = write(tmp_path, GOOD.replace("https://example.com/ai/", site.url + "/ai/")
                 .replace("render: auto", "render: auto\n    bogus: 1"))
    result = cli("crawl", "--config", str(path))
    assert result.returncode == 2, result.stderr
    assert "outlets[0].bogus" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert site.hits == []


WATCHED = GOOD + """\
watches:
  - name: llm
    terms: [大模型]
    notify: [hook]
  - name: gpt
    regex: ['GPT-(']
notify:
  hook: {webhook: 'http://127.0.0.1:9/x'}
"""


def test_watch_errors_name_key_and_line(tmp_path):
    message = error_of(tmp_path, WATCHED)
    assert "watches[1].regex[0]" in message and "bad regex" in message and ":13:" in message


def test_unknown_channel_of_a_watch_names_key_and_line(tmp_path):
    text = WATCHED.replace("['GPT-(']", "['GPT-5']").replace("notify: [hook]", "notify: [chat]")
    message = error_of(tmp_path, text)
    assert "watches[0].notify[0]" in message and "unknown channel 'chat'" in message
    assert ":11:" in message


def test_channel_errors_name_key_and_line(tmp_path):
    text = WATCHED.replace("['GPT-(']", "['GPT-5']").replace(
        "hook: {webhook: 'http://127.0.0.1:9/x'}", "hook:\n    webhook: 'http://127.0.0.1:9/x'\n"
        "    colour: blue")
    message = error_of(tmp_path, text)
    assert "notify.hook.colour" in message and ":17:" in message


@pytest.mark.parametrize("command", ["crawl", "daemon"])
def test_watch_and_notify_errors_name_file_line_and_key_on_the_command_line(tmp_path, cli, command):
    """Issue 10 item 11: watch and notify errors read like every other config error."""
    bad_watch = write(tmp_path, WATCHED)
    result = cli(command, "--config", str(bad_watch))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {bad_watch}:13: watches[1].regex[0]: bad regex 'GPT-('")
    bad_channel = write(tmp_path, WATCHED.replace("['GPT-(']", "['GPT-5']").replace(
        "{webhook: 'http://127.0.0.1:9/x'}", "{webhook: 'ftp://127.0.0.1/x'}"))
    result = cli(command, "--config", str(bad_channel))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {bad_channel}:15: notify.hook.webhook: ")


def test_watches_and_channels_are_parsed_by_their_owners(tmp_path):
    config = load_config(write(tmp_path, WATCHED.replace("['GPT-(']", "['GPT-5']")))
    assert [w.name for w in config.watch_rules] == ["llm", "gpt"]
    assert list(config.channels) == ["hook"] and config.channels["hook"].kind == "webhook"
    assert config.watches[0]["name"] == "llm"  # as written


@pytest.mark.parametrize(("written", "seconds"), [
    ("90s", 90), ("15m", 900), ("1.5h", 5400), ("1d", 86400), ("120", 120), (45, 45)])
def test_one_duration_parser(tmp_path, written, seconds):
    config = load_config(write(tmp_path, GOOD.replace("interval: 15m", f"interval: {written}")))
    assert config.outlets[0].interval_seconds == seconds
    assert parse_duration(written, "x") == seconds


def test_bad_duration_names_key_and_line(tmp_path):
    message = error_of(tmp_path, GOOD.replace("15m", "-5m"))
    assert "outlets[0].interval" in message and "bad duration" in message and ":7:" in message
    with pytest.raises(ValueError, match=r"^\$X: bad duration 'soon'"):
        parse_duration("soon", "$X")


def test_an_error_under_a_key_without_a_known_line_is_raised_not_looped():
    """parse_config of a mapping (no YAML lines: the demo, tests) names the key all the same."""
    with pytest.raises(ConfigError, match=r"^demo: notify\.chat\.apprise: not a usable"):
        parse_config({"notify": {"chat": {"apprise": "tgram://x"}}}, source="demo")


def test_every_missing_variable_is_reported_at_once(tmp_path, monkeypatch):
    for var in ("NW_T_HOOK", "NW_T_PASS", "NW_T_BOT", "NW_T_CHAT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NW_T_CHAT", "")  # empty is as good as missing (compose passes ${X:-})
    text = GOOD + """\
notify:
  hook: {webhook: 'http://127.0.0.1/x', secret: '${NW_T_HOOK}'}
  mail: {email: [a@example.com], smtp: 'smtp://u:${NW_T_PASS}@mail.example.com:587'}
  chat:
    apprise: 'tgram://${NW_T_BOT}/${NW_T_CHAT}'
"""
    message = error_of(tmp_path, text)
    assert "4 environment variables are not set (or empty)" in message
    for var, key, line in (("NW_T_HOOK", "notify.hook.secret", 9),
                           ("NW_T_PASS", "notify.mail.smtp", 10),
                           ("NW_T_BOT", "notify.chat.apprise", 12),
                           ("NW_T_CHAT", "notify.chat.apprise", 12)):
        assert f"{var} ({key}, line {line})" in message


@pytest.mark.parametrize("password", ["p@ss:w/rd#1", "12/34", "se?cret"])
def test_an_smtp_password_to_percent_encode_is_one_line_naming_key_and_line(
        tmp_path, monkeypatch, password):
    mail = "notify:\n  mail:\n    email: [a@example.com]\n    smtp: '{}'\n    from: n@example.com\n"
    for written in (f"smtp://nw:{password}@mail.example.com:587", "smtp://nw:${NW_T_SMTP}@mail.example.com:587"):
        monkeypatch.setenv("NW_T_SMTP", password)
        message = error_of(tmp_path, GOOD + mail.format(written))
        assert ":11: notify.mail.smtp: " in message and "%-encoded" in message
        for piece in (password, *password.split("/"), *password.split("@"), *password.split("?")):
            assert len(piece) < 3 or piece not in message.replace("%-encoded", "")
    monkeypatch.setenv("NW_T_SMTP", "p%40ss%3Aw%2Frd%231")  # %-encoded: loads, decoded
    config = load_config(write(tmp_path, GOOD + mail.format(
        "smtp://nw:${NW_T_SMTP}@mail.example.com:587")))
    assert config.channels["mail"].password == "p@ss:w/rd#1"


DIGEST = GOOD + """\
notify:
  desk:
    webhook: 'http://127.0.0.1:9/x'
    digest:
      every: weekly
      weekday: monday
      at: "07:30"
      tz: Asia/Shanghai
"""


def test_a_digest_channel_is_checked_and_given_to_its_channel(tmp_path):
    config = load_config(write(tmp_path, DIGEST))
    digest = config.channels["desk"].digest
    assert (digest.every, digest.weekday, digest.at, digest.tz) == (
        "weekly", "monday", "07:30", "Asia/Shanghai")
    assert digest.hour_minute == (7, 30)
    daily = load_config(write(tmp_path, DIGEST.replace("      weekday: monday\n", "").replace(
        "weekly", "daily").replace('"07:30"', '"7:05"')))
    assert (daily.channels["desk"].digest.every, daily.channels["desk"].digest.at) == (
        "daily", "07:05")
    assert load_config(write(tmp_path, GOOD)).channels == {}


@pytest.mark.parametrize(("edit", "line", "key", "problem"), [
    (("      weekday: monday\n", ""), 11, "notify.desk.digest",
     "a weekly digest needs a weekday (e.g. weekday: monday)"),
    (("weekly", "daily"), 13, "notify.desk.digest.weekday", "only a weekly digest takes a weekday"),
    (("every: weekly", "every: hourly"), 12, "notify.desk.digest.every",
     "expected one of daily, weekly, got 'hourly'"),
    (("monday", "mon"), 13, "notify.desk.digest.weekday", "expected one of monday, tuesday"),
    (('"07:30"', '"7h30"'), 14, "notify.desk.digest.at", 'expected a time of day like "08:00"'),
    (('"07:30"', "7:30"), 14, "notify.desk.digest.at",
     'write the time quoted, e.g. "18:30" (unquoted, YAML reads it as the number 450)'),
    (('"07:30"', '"25:00"'), 14, "notify.desk.digest.at", "expected a time of day"),
    (("Asia/Shanghai", "Asia/Shangai"), 15, "notify.desk.digest.tz",
     "unknown time zone 'Asia/Shangai' (use an IANA name"),
    (("      tz: Asia/Shanghai\n", "      colour: blue\n"), 15, "notify.desk.digest.colour",
     "unknown key (allowed: at, every, tz, weekday)"),
    (("    digest:\n      every: weekly\n      weekday: monday\n      at: \"07:30\"\n"
      "      tz: Asia/Shanghai\n", "    digest: daily\n"), 11, "notify.desk.digest",
     'expected a mapping like {every: daily, at: "08:00", tz: UTC}'),
])
def test_digest_errors_name_key_and_line(tmp_path, edit, line, key, problem):
    message = error_of(tmp_path, DIGEST.replace(*edit))
    assert f":{line}: {key}: {problem}" in message, message


def test_redis_default_env_override_and_frontier(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSWATCH_REDIS_URL", raising=False)
    config = load_config(write(tmp_path, GOOD))
    assert config.redis is None and config.frontier.key_prefix == "newswatch"
    assert config.frontier.lease_seconds == 300 and config.frontier.robots_ttl_seconds == 86400
    text = ("redis: redis://10.0.0.5:6379/0\nfrontier:\n  key_prefix: desk-a\n  lease: 90s\n"
            "  robots_ttl: 2h\n" + GOOD)
    config = load_config(write(tmp_path, text))
    assert config.redis == "redis://10.0.0.5:6379/0"
    assert (config.frontier.key_prefix, config.frontier.lease_seconds,
            config.frontier.robots_ttl_seconds) == ("desk-a", 90, 7200)
    monkeypatch.setenv("NEWSWATCH_REDIS_URL", "rediss://cache.example:6380/1")
    assert load_config(write(tmp_path, text)).redis == "rediss://cache.example:6380/1"


def test_bad_redis_url_names_key_and_line_never_the_password(tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSWATCH_REDIS_URL", raising=False)
    message = error_of(tmp_path, "redis: http://:hunter2-secret@x:6379/0\n" + GOOD)
    assert "redis" in message and ":1" in message and "hunter2" not in message
    message = error_of(tmp_path, "frontier:\n  lease: soon\n" + GOOD)
    assert "frontier.lease" in message and ":2" in message


def test_revisit_policy_defaults_durations_and_always(tmp_path):
    from newswatch.revisit import DAY, HOUR, RevisitPolicy

    assert load_config(write(tmp_path, GOOD)).outlets[0].revisit == RevisitPolicy()
    text = GOOD + "    revisit: {min: 30m, max: 2d, stop_after: 10d}\n"
    assert load_config(write(tmp_path, text)).outlets[0].revisit == \
        RevisitPolicy(min=HOUR // 2, max=2 * DAY, stop_after=10 * DAY)
    assert load_config(write(tmp_path, GOOD + "    revisit: always\n")).outlets[0].revisit.always


@pytest.mark.parametrize("written, problem", [
    ("sometimes", "expected always or a mapping"),
    ("{min: soon}", "outlets[0].revisit.min: bad duration 'soon'"),
    ("{often: 1h}", "outlets[0].revisit.often: unknown key"),
    ("{min: 2d, max: 1d}", "min (172800 s) is longer than max"),
])
def test_bad_revisit_names_key_and_line(tmp_path, written, problem):
    message = error_of(tmp_path, GOOD + f"    revisit: {written}\n")
    assert problem in message and ":8:" in message
