"""Channels against real local receivers: webhook (HMAC), SMTP (plain, STARTTLS, SMTPS), Apprise."""

from __future__ import annotations

import json
import logging

import pytest

from newswatch.alerts.channels import DeliveryError, encode_body, parse_channels, sign
from newswatch.alerts.payload import build_payload
from newswatch.alerts.secrets import expand_env, redact
from tests.receivers import SmtpSink, WebhookReceiver, free_port, self_signed_cert

TITLE = "深度求索发布新一代大模型 DeepSeek-V4"


def payload(alert_id: int = 7, event: str = "new") -> dict:
    return build_payload(
        event=event, watch="llm-china", terms=["大模型", "DeepSeek"], story_id=3, title=TITLE,
        url="https://news.example.cn/a/1", urls=["https://mirror.example.cn/1"],
        outlets=["example-cn"], text="今天，深度求索发布了新一代大模型。" * 5,
        diff=[{"op": "edited", "old": "旧句子。", "new": "新句子：大模型。"}] if event == "updated"
        else None, alert_id=alert_id)


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


# --- config parsing ----------------------------------------------------------------------


@pytest.mark.parametrize("mapping, message", [
    ({"x": {"webhook": "ftp://h/x"}}, "notify.x.webhook: expected an http(s):// URL"),
    ({"x": {"webhook": "http://h/x", "email": "a@b.c"}}, "notify.x: expected exactly one of"),
    ({"x": {"webhook": "http://h/x", "retries": 3}}, "notify.x.retries: unknown option"),
    ({"x": {"webhook": "http://h/x", "timeout": -1}}, "notify.x.timeout: expected seconds"),
    ({"x": "http://h"}, "notify.x: expected a mapping"),
    ({"team-mail": {"email": ["a@b.c"], "smtp": "http://u:p@h", "from": "n@b.c"}},
     "notify.team-mail.smtp: expected smtp:// or smtps://"),
    ({"m": {"email": ["a@b.c"], "smtp": "smtp://h"}}, "notify.m.from: required"),
    ({"m": {"email": ["nobody"], "smtp": "smtp://h", "from": "n@b.c"}}, "notify.m.email[0]:"),
    ({"m": {"email": ["a@b.c"], "smtp": "smtp://h:notaport", "from": "n@b.c"}}, "notify.m.smtp:"),
    ({"m": {"email": ["a@b.c"], "smtp": "smtp://h", "from": "n@b.c", "tls_verify": "no"}},
     "notify.m.tls_verify: expected true or false"),
    ({"c": {"apprise": "nosuchscheme://token"}}, "notify.c.apprise: not a usable Apprise URL"),
])
def test_parse_errors_are_one_line_and_name_the_key(mapping, message):
    with pytest.raises(ValueError) as err:
        parse_channels(mapping)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_parse_the_documented_example():
    chans = parse_channels({
        "team-hook": {"webhook": "https://hooks.example.com/x", "secret": "hook-secret-1",
                      "timeout": 10},
        "team-mail": {"email": ["ai-desk@example.com"], "from": "newswatch@example.com",
                      "smtp": "smtp://user:mail-pass-1@mail.example.com:587"},
        "team-chat": {"apprise": "tgram://123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOpp/4242"},
    })
    assert {n: c.kind for n, c in chans.items()} == {
        "team-hook": "webhook", "team-mail": "email", "team-chat": "apprise"}
    described = json.dumps([c.describe() for c in chans.values()])
    for secret in ("hook-secret-1", "mail-pass-1", "AAbbCCddEEffGGhhIIjjKKllMMnnOOpp"):
        assert secret not in described
    assert chans["team-mail"].port == 587 and not chans["team-mail"].implicit_tls


def test_expand_env_names_variable_and_key():
    env = {"NEWSWATCH_HOOK_SECRET": "from-the-env-123"}
    cfg = {"team-hook": {"webhook": "https://h/x", "secret": "${NEWSWATCH_HOOK_SECRET}"},
           "team-mail": {"smtp": "smtp://u:$${literal}@h", "email": ["a@b.c"]}}
    out = expand_env(cfg, "notify", env)
    assert out["team-hook"]["secret"] == "from-the-env-123"
    assert out["team-mail"]["smtp"] == "smtp://u:${literal}@h"
    assert redact("the secret is from-the-env-123") == "the secret is ***"
    with pytest.raises(ValueError, match=r"^notify\.team-mail\.smtp: environment variable SMTP_PASS "
                                         r"is not set$"):
        expand_env({"team-mail": {"smtp": "smtp://u:${SMTP_PASS}@h"}}, "notify", env)
    with pytest.raises(ValueError, match=r"^notify\.x\.email\[1\]: bad variable reference"):
        expand_env({"x": {"email": ["a", "${not valid}"]}}, "notify", env)


# --- webhook -----------------------------------------------------------------------------


def test_webhook_signs_exact_body_and_sends_utf8():
    with WebhookReceiver(secret="hook-secret-2") as hook:
        chan = parse_channels({"h": {"webhook": hook.url, "secret": "hook-secret-2"}})["h"]
        chan.send(payload(alert_id=41))
    [got] = hook.received
    assert got.signature_ok is True
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Newswatch-Alert-Id"] == "41"
    assert got.headers["X-Newswatch-Signature"] == sign(got.body, "hook-secret-2")
    assert TITLE.encode("utf-8") in got.body  # ensure_ascii=False: no \\u escapes
    assert got.body == encode_body(payload(alert_id=41))
    assert got.json["story"]["title"] == TITLE and got.json["alert_id"] == 41


def test_webhook_wrong_secret_is_refused_and_error_is_redacted():
    with WebhookReceiver(secret="the-receivers-secret") as hook:
        chan = parse_channels({"h": {"webhook": hook.url, "secret": "senders-wrong-secret"}})["h"]
        with pytest.raises(DeliveryError) as err:
            chan.send(payload())
    assert hook.received[0].signature_ok is False
    assert "HTTP 401" in str(err.value)
    assert "senders-wrong-secret" not in str(err.value) + json.dumps(chan.describe())


def test_webhook_unsigned_and_non_2xx_and_refused():
    with WebhookReceiver(status=500) as hook:
        chan = parse_channels({"h": {"webhook": hook.url}})["h"]
        with pytest.raises(DeliveryError, match="HTTP 500"):
            chan.send(payload())
    assert "X-Newswatch-Signature" not in hook.received[0].headers
    port = free_port()  # nothing listens here
    chan = parse_channels({"h": {"webhook": f"http://127.0.0.1:{port}/hook", "timeout": 2}})["h"]
    with pytest.raises(DeliveryError) as err:
        chan.send(payload())
    assert "ConnectionError" in str(err.value) and "\n" not in str(err.value)


# --- email -------------------------------------------------------------------------------


def _mail_cfg(url: str, **extra) -> dict:
    return {"m": {"email": ["ai-desk@example.com", "boss@example.com"], "smtp": url,
                  "from": "newswatch@example.com", "timeout": 10, **extra}}


def _check_mail(mail, alert_id=7):
    msg = mail.message
    assert msg["Subject"] == f"[newswatch] llm-china: {TITLE}"
    assert msg["X-Newswatch-Alert-Id"] == str(alert_id)
    assert mail.rcpt_tos == ["ai-desk@example.com", "boss@example.com"]
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert TITLE in text and "https://news.example.cn/a/1" in text
    assert f">{TITLE}</a>" in html
    assert b"\xe6\xb7\xb1" not in mail.raw.split(b"\r\n\r\n", 1)[0]  # headers RFC 2047-encoded


def test_email_plain_with_login():
    with SmtpSink("plain", credentials=("desk", "mail-pass-3")) as smtp:
        chan = parse_channels(_mail_cfg(f"smtp://desk:mail-pass-3@127.0.0.1:{smtp.port}"))["m"]
        chan.send(payload())
    [mail] = smtp.mails
    _check_mail(mail)
    assert mail.tls is False and mail.auth_user == "desk"


def test_email_starttls_self_signed_needs_tls_verify_false(cert):
    with SmtpSink("starttls", cert=cert, credentials=("desk", "p@ss word"),
                  require_starttls=True) as smtp:
        url = f"smtp://desk:p%40ss%20word@127.0.0.1:{smtp.port}"
        strict = parse_channels(_mail_cfg(url))["m"]
        with pytest.raises(DeliveryError) as err:
            strict.send(payload())
        assert "CERTIFICATE_VERIFY_FAILED" in str(err.value)
        assert "p@ss word" not in str(err.value) and "p%40ss%20word" not in str(err.value)
        parse_channels(_mail_cfg(url, tls_verify=False))["m"].send(payload(alert_id=8))
        parse_channels(_mail_cfg(url, tls_ca=str(cert[0])))["m"].send(payload(alert_id=9))
    assert [m.tls for m in smtp.mails] == [True, True]
    assert [m.auth_user for m in smtp.mails] == ["desk", "desk"]
    _check_mail(smtp.mails[0], alert_id=8)


def test_email_smtps_implicit_tls(cert):
    with SmtpSink("smtps", cert=cert, credentials=("desk", "mail-pass-4")) as smtp:
        url = f"smtps://desk:mail-pass-4@127.0.0.1:{smtp.port}"
        parse_channels(_mail_cfg(url, tls_verify=False))["m"].send(payload(event="updated"))
    [mail] = smtp.mails
    assert mail.tls is True and mail.auth_user == "desk"
    text = mail.message.get_body(("plain",)).get_content()
    assert "新句子：大模型。" in text and "旧句子。" in text


def test_email_bad_password_is_one_line_and_redacted(cert):
    with SmtpSink("starttls", cert=cert, credentials=("desk", "right-pass")) as smtp:
        url = f"smtp://desk:wrong-pass-5@127.0.0.1:{smtp.port}"
        chan = parse_channels(_mail_cfg(url, tls_verify=False))["m"]
        with pytest.raises(DeliveryError) as err:
            chan.send(payload())
    assert str(err.value).startswith(f"smtp 127.0.0.1:{smtp.port}: 535")
    assert "wrong-pass-5" not in str(err.value) + json.dumps(chan.describe())
    assert smtp.mails == []


# --- apprise -----------------------------------------------------------------------------


def test_apprise_json_to_local_receiver():
    with WebhookReceiver() as hook:
        chan = parse_channels({"c": {"apprise": f"json://127.0.0.1:{hook.port}/hook"}})["c"]
        chan.send(payload())
    [got] = hook.received
    body = got.json
    assert body["title"] == f"[newswatch] llm-china: {TITLE}"
    assert "https://news.example.cn/a/1" in body["message"]


def test_apprise_failure_is_delivery_error_without_token(caplog):
    port = free_port()
    chan = parse_channels({"c": {"apprise": f"json://apitoken-xyz:secret-abc-6@127.0.0.1:{port}/"
                                            "?cto=2&rto=2"}})["c"]
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as err:
        chan.send(payload())
    text = str(err.value) + json.dumps(chan.describe()) + caplog.text
    assert "secret-abc-6" not in text and "apitoken-xyz" not in text
    assert "\n" not in str(err.value)


# --- the alert's identity: the same on every send of one alert ---------------------------


def test_every_channel_carries_the_alert_uid_the_same_on_every_send():
    first, other = payload(), payload(alert_id=8)
    first["alert_uid"], other["alert_uid"] = "a" * 32, "b" * 32
    with WebhookReceiver() as hook, SmtpSink() as smtp:
        chans = parse_channels({
            "hook": {"webhook": hook.url},
            "mail": {"email": "desk@example.com", "smtp": f"smtp://127.0.0.1:{smtp.port}",
                     "from": "newswatch@example.com"},
            "chat": {"apprise": f"json://127.0.0.1:{hook.port}/chat"}})
        for p in (first, first, other):  # a retry of the first alert, then another alert
            for chan in chans.values():
                chan.send(p)
    hooks = [r for r in hook.received if r.path == "/hook"]
    assert [r.headers["Idempotency-Key"] for r in hooks] == ["a" * 32, "a" * 32, "b" * 32]
    assert [r.json["alert_uid"] for r in hooks] == ["a" * 32, "a" * 32, "b" * 32]
    ids = [m.message["Message-ID"] for m in smtp.mails]
    assert ids == [f"<newswatch.{'a' * 32}@example.com>"] * 2 + [
        f"<newswatch.{'b' * 32}@example.com>"]
    chats = [r.json["message"] for r in hook.received if r.path == "/chat"]
    assert [("a" * 32 in m, "b" * 32 in m) for m in chats] == [(True, False)] * 2 + [(False, True)]
