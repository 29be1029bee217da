"""Change monitoring end to end: the demo outlet changes between crawls; a real webhook receiver
and a real SMTP server get exactly the alerts the rules say, and nothing twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newswatch.demo import demo_config, serve_demo
from tests.receivers import SmtpSink, WebhookReceiver

SECRET = "hook-secret-for-tests"


@pytest.fixture
def monitored(tmp_path: Path, write_config):
    with serve_demo() as site, WebhookReceiver(secret=SECRET) as hook, SmtpSink() as smtp:
        raw = demo_config(site.url)
        raw["watches"] = [
            {"name": "qwen", "terms": ["通义千问", "Qwen"], "notify": ["hook", "mail"]},
            {"name": "digital-human", "terms": ["数字人"], "notify": ["hook"]},  # page is traditional
            {"name": "open-models", "terms": ["开源大模型"], "notify": ["hook"]},  # republished pair
            {"name": "on-device", "terms": ["端侧大模型"], "notify": ["hook"]},  # new in version 2
            {"name": "nothing", "terms": ["量子引力"], "exclude": ["招聘"], "notify": ["hook"]},
        ]
        for outlet in raw["outlets"]:
            outlet["alert_on_first_crawl"] = True
            outlet["revisit"] = "always"  # every crawl rechecks every listed article
        raw["notify"] = {
            "hook": {"webhook": hook.url, "secret": "${NW_TEST_HOOK_SECRET}"},
            "mail": {"email": ["desk@example.com"], "smtp": f"smtp://127.0.0.1:{smtp.port}",
                     "from": "newswatch@example.com"},
        }
        config = write_config(raw)
        yield site, hook, smtp, config


def crawl(cli, config: Path) -> None:
    result = cli("crawl", "--config", str(config), env={"NW_TEST_HOOK_SECRET": SECRET})
    assert result.returncode == 0, result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr


def calls(hook: WebhookReceiver) -> list[tuple[str, str, str]]:
    return sorted((r.json["event"], r.json["watch"], r.json["story"]["title"]) for r in hook.received)


def test_alerts_follow_the_rules_across_changes_reruns_and_restarts(monitored, cli):
    site, hook, smtp, config = monitored

    crawl(cli, config)  # version 1; alert_on_first_crawl, so new matching stories alert
    first = calls(hook)
    assert [(event, watch) for event, watch, _ in first] == [
        ("new", "digital-human"), ("new", "open-models"), ("new", "qwen")]
    assert all(r.signature_ok for r in hook.received)
    assert "數字人" in dict(((w, t) for _, w, t in first))["digital-human"]  # traditional page
    [open_models] = [r.json for r in hook.received if r.json["watch"] == "open-models"]
    assert sorted(open_models["story"]["outlets"]) == ["demo-ai", "demo-wire"]
    assert len(open_models["story"]["urls"]) == 2
    assert len(smtp.mails) == 1
    assert smtp.mails[0].message["Subject"].startswith("[newswatch] qwen: ")

    crawl(cli, config)  # rerun on the unchanged site: nothing
    assert len(hook.received) == 3 and len(smtp.mails) == 1

    site.set_version(2)  # one real edit (adds 通义千问), one sidebar-only change, one new story
    hook.received.clear()
    crawl(cli, config)
    second = [r.json for r in hook.received]
    assert sorted((p["event"], p["watch"]) for p in second) == [
        ("new", "on-device"), ("updated", "qwen")]
    [update] = [p for p in second if p["event"] == "updated"]
    assert "通义千问" in json.dumps(update["diff"], ensure_ascii=False)
    assert "芯片" in update["story"]["title"] or "算力" in update["story"]["title"]
    assert len(smtp.mails) == 2

    hook.received.clear()
    crawl(cli, config)  # a rerun after the change, in a new process (a restart): nothing again
    assert hook.received == [] and len(smtp.mails) == 2

    ledger = cli("alerts", "--config", str(config), "--json",
                 env={"NW_TEST_HOOK_SECRET": SECRET})
    rows = [json.loads(line) for line in ledger.stdout.splitlines()]
    assert len(rows) == 7 and {r["status"] for r in rows} == {"sent"}
    assert SECRET not in ledger.stdout


def test_bad_regex_and_unknown_channel_are_config_errors(tmp_path, write_config, cli):
    base = {"outlets": [{"name": "x", "start_urls": ["http://127.0.0.1:9/"]}],
            "notify": {"hook": {"webhook": "http://127.0.0.1:9/hook"}}}
    bad_regex = write_config({**base, "watches": [{"name": "w", "regex": ["GPT-("], "notify": ["hook"]}]},
                             name="a.yaml")
    result = cli("crawl", "--config", str(bad_regex))
    assert result.returncode == 2 and "GPT-(" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    unknown = write_config({**base, "watches": [{"name": "w", "terms": ["x"], "notify": ["pager"]}]},
                           name="b.yaml")
    result = cli("crawl", "--config", str(unknown))
    assert result.returncode == 2 and "pager" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
