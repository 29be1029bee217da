"""The dashboard's JSON API and pages over HTTP, on SQLite and PostgreSQL: the OpenAPI spec is
valid and every endpoint in it answers with what it documents; filters, search and paging; field
names as ``newswatch stories --json``; the token guard; the security headers."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import requests
from openapi_spec_validator import validate

from newswatch.web.security import CONTENT_SECURITY_POLICY
from newswatch.web.server import DashboardThread, ServeError, check_bind
from tests.web_fixtures import T0, Dashboard, dashboard_config, start_dashboard


def get(dash: Dashboard, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(dash.url + path, timeout=30, **kwargs)


def api(dash: Dashboard, path: str) -> Any:
    response = get(dash, path)
    assert response.status_code == 200, response.text
    return response.json()


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def conforms(spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> None:
    """``value`` has the type, the required properties and the item shapes ``schema`` says."""
    schema = resolve(spec, schema)
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                conforms(spec, option, value, where)
                return
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{where}: {value!r:.80} fits no option: {errors}")
    kind = schema.get("type")
    checks = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool,
              "null": type(None)}
    if kind in checks:
        assert isinstance(value, checks[kind]), f"{where}: {value!r:.80} is not {kind}"
    if kind == "string" and schema.get("format") == "date-time":
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", value), f"{where}: {value!r}"
    if kind == "object":
        for name in schema.get("required", []):
            assert name in value, f"{where}: missing {name}"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                conforms(spec, sub, value[name], f"{where}.{name}")
    if kind == "array" and "items" in schema:
        for i, item in enumerate(value):
            conforms(spec, schema["items"], item, f"{where}[{i}]")


def test_the_openapi_spec_is_valid_and_every_endpoint_answers_as_documented(
        dashboard: Dashboard) -> None:
    spec = api(dashboard, "/api/openapi.json")
    validate(spec)
    paths = spec["paths"]
    assert {"/api/stories", "/api/stories/{story_id}", "/api/outlets", "/api/watches",
            "/api/alerts"} <= set(paths)
    assert not [p for p in paths if not p.startswith("/api/")]  # pages and feeds stay out
    for path, item in paths.items():
        concrete = path.replace("{story_id}", str(dashboard.ids["zh"]))
        response = get(dashboard, concrete)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith("application/json")
        documented = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        conforms(spec, documented, response.json(), path)


def test_filters_search_and_paging(dashboard: Dashboard) -> None:
    ids = dashboard.ids

    def found(query: str) -> list[int]:
        return [s["id"] for s in api(dashboard, "/api/stories?" + query)["stories"]]

    everything = api(dashboard, "/api/stories")
    assert everything["total"] == 4 and everything["pages"] == 1
    last_changed = [s["last_changed"] for s in everything["stories"]]
    assert last_changed == sorted(last_changed, reverse=True)  # newest change first
    assert found("q=数字人") == [ids["zh"]]  # the page says 數字人
    assert found("q=數字人") == [ids["zh"]]
    assert found("q=九个小时") == [ids["zh"]] and found("q=七个小时") == []  # current text only
    assert found("q=模型") == [ids["hostile"]]  # two characters, through the index
    assert found("q=gpt-4o") == [ids["en"]]
    assert found("watch=digital") == [ids["zh"]]
    assert sorted(found("outlet=alpha")) == sorted([ids["zh"], ids["en"], ids["hostile"]])
    assert set(found("kind=updated")) == {ids["zh"], ids["en"]}
    assert set(found("kind=new")) == {ids["hostile"], ids["plain"]}
    day1, day2 = T0.date(), (T0 + timedelta(days=1)).date()
    assert set(found(f"since={day2}")) == {ids["zh"], ids["en"]}
    assert set(found(f"until={day1}")) == {ids["hostile"], ids["plain"]}  # the whole day
    page1, page2 = (api(dashboard, f"/api/stories?per_page=3&page={n}") for n in (1, 2))
    assert page1["pages"] == 2 and len(page1["stories"]) == 3 and len(page2["stories"]) == 1
    assert {s["id"] for s in page1["stories"] + page2["stories"]} == set(ids.values())
    bad = get(dashboard, "/api/stories?kind=old")
    assert bad.status_code == 422 and "kind" in bad.json()["detail"]
    assert get(dashboard, "/api/stories?since=yesterday").status_code == 422
    assert get(dashboard, "/api/stories/999999").status_code == 404


def test_story_detail_has_urls_revisions_diffs_and_alerts(dashboard: Dashboard) -> None:
    story = api(dashboard, f"/api/stories/{dashboard.ids['zh']}")
    assert story["revisions"] == 2 and len(story["history"]) == 2
    newest, first = story["history"]
    assert newest["number"] == 2 and first["number"] == 1
    changed = [(op, text) for op, text in newest["diff"] if op != "equal"]
    assert changed == [("delete", "七"), ("insert", "九"), ("delete", "三"), ("insert", "五")]
    assert newest["title_diff"] == [["equal", "數字人主播連播"], ["delete", "七"],
                                    ["insert", "九"], ["equal", "小時"]]
    en = api(dashboard, f"/api/stories/{dashboard.ids['en']}")
    assert [(op, t) for op, t in en["history"][0]["diff"] if op != "equal"] == [
        ("delete", "trained"), ("insert", "tested")]  # English: whole words
    assert [loc["outlet"] for loc in en["locations"]] == ["beta", "alpha"]
    assert en["outlets"] == ["beta", "alpha"]
    hostile = api(dashboard, f"/api/stories/{dashboard.ids['hostile']}")
    assert [a["status"] for a in hostile["alerts"]] == ["failed"]
    assert hostile["matches"] == []


def test_outlets_watches_and_alerts(dashboard: Dashboard) -> None:
    outlets = {o["outlet"]: o for o in api(dashboard, "/api/outlets")["outlets"]}
    assert outlets["alpha"]["run"]["fetched"] == 9 and outlets["alpha"]["needs_browser"] == 1
    assert outlets["alpha"]["warning"] is None
    assert outlets["beta"]["warning"].startswith("went silent: every page")
    watches = {w["name"]: w for w in api(dashboard, "/api/watches")["watches"]}
    assert watches["digital"]["matched"] == 1
    assert watches["digital"]["recent"][0]["story_id"] == dashboard.ids["zh"]
    assert watches["gpt"]["matched"] == 1
    alerts = api(dashboard, "/api/alerts?status=failed")
    assert alerts["total"] == 1 and alerts["counts"] == {"pending": 0, "sent": 0, "failed": 1}
    assert alerts["alerts"][0]["last_error"].endswith("502")
    assert api(dashboard, "/api/alerts?status=sent")["alerts"] == []


def test_an_outlet_whose_last_crawl_hit_the_new_link_cap_says_so(dashboard: Dashboard) -> None:
    """The crawl summary's "capped" words on the outlet's row: links were left for later."""
    outlets = {o["outlet"]: o for o in api(dashboard, "/api/outlets")["outlets"]}
    assert outlets["alpha"]["capped"] == "3 new article links (7 more left for later crawls)"
    assert outlets["beta"]["capped"] is None
    page = get(dashboard, "/outlets").text
    assert "capped: 3 new article links (7 more left for later crawls)" in page
    assert page.count("capped:") == 1


def test_field_names_match_the_stories_command(sqlite_dashboard: Dashboard, tmp_path,
                                               write_config, cli) -> None:
    config = write_config({"database": sqlite_dashboard.config.database, "outlets": []})
    done = cli("stories", "--json", "--config", str(config))
    assert done.returncode == 0, done.stderr
    by_cli = {row["id"]: row for row in map(json.loads, done.stdout.splitlines())}
    by_api = {row["id"]: row for row in api(sqlite_dashboard, "/api/stories")["stories"]}
    assert by_cli == by_api


def test_pages_answer_with_a_strict_content_security_policy(dashboard: Dashboard) -> None:
    for path in ("/", "/?q=数字人&watch=digital", f"/stories/{dashboard.ids['zh']}", "/outlets",
                 "/watches", "/alerts?status=failed", "/feeds/all.atom", "/api/stories",
                 "/no/such/page"):
        response = get(dashboard, path)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert response.headers["x-content-type-options"] == "nosniff"
    assert "script-src" not in CONTENT_SECURITY_POLICY  # default-src 'none': no script at all
    page = get(dashboard, f"/stories/{dashboard.ids['hostile']}").text
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'href="javascript:' not in page and "onerror=alert" not in page.replace(
        "&lt;img src=x onerror=alert", "")
    assert "went silent" in get(dashboard, "/outlets").text


def test_a_host_beyond_loopback_needs_a_token(tmp_path) -> None:
    config = dashboard_config(f"sqlite:///{tmp_path}/x.db")
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        check_bind(config, host)
    with pytest.raises(ServeError, match=r"--host 0\.0\.0\.0 is not loopback: set serve\.token"):
        check_bind(config, "0.0.0.0")
    with pytest.raises(ServeError):
        DashboardThread(config, "0.0.0.0", 0)
    check_bind(dashboard_config(f"sqlite:///{tmp_path}/x.db", token="s" * 24), "0.0.0.0")


def test_the_token_guards_pages_api_and_feeds(tmp_path) -> None:
    token = "correct-horse-battery-staple-42"
    running = start_dashboard(f"sqlite:///{tmp_path}/t.db", token=token)
    dash = next(running)
    try:
        assert get(dash, "/api/stories").status_code == 401
        assert get(dash, "/feeds/all.atom").status_code == 401
        assert get(dash, "/api/stories", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = get(dash, "/api/stories", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json()["total"] == 4
        page = get(dash, "/watches", allow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fwatches"
        assert get(dash, "/static/style.css").status_code == 200
        with requests.Session() as browser:
            wrong = browser.post(dash.url + "/login", data={"token": "nope", "next": "/watches"})
            assert "That is not the token" in wrong.text
            done = browser.post(dash.url + "/login", data={"token": token, "next": "/watches"},
                                timeout=30)
            assert done.status_code == 200 and done.url == dash.url + "/watches"
            assert token not in str(browser.cookies.get_dict())  # the cookie is not the token
            assert browser.get(dash.url + "/api/alerts", timeout=30).status_code == 200
            evil = browser.post(dash.url + "/login", allow_redirects=False,
                                data={"token": token, "next": "//evil.example/"})
            assert evil.headers["location"] == "/"
    finally:
        running.close()  # stops the server, closes the store
