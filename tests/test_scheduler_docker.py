"""The container files: docker-compose.yml validates with the real docker-compose (with and
without a .env), and the Dockerfile runs the daemon by default."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(COMPOSE is None, reason="docker-compose is not installed")


def compose_config(folder: Path) -> dict:
    shutil.copy(ROOT / "docker-compose.yml", folder / "docker-compose.yml")
    (folder / "deploy").mkdir(exist_ok=True)
    (folder / "deploy" / "newswatch.yaml").write_text("outlets: []\n")
    quiet = subprocess.run([COMPOSE, "-f", "docker-compose.yml", "config", "-q"], cwd=folder,
                           capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0, quiet.stderr
    full = subprocess.run([COMPOSE, "-f", "docker-compose.yml", "config"], cwd=folder,
                          capture_output=True, text=True, timeout=60, check=True)
    return yaml.safe_load(full.stdout)


@needs_compose
def test_compose_validates_without_a_dot_env(tmp_path: Path) -> None:
    config = compose_config(tmp_path)
    app, db = config["services"]["newswatch"], config["services"]["postgres"]
    assert app["command"] == ["daemon", "--config", "/config/newswatch.yaml", "--serve",
                              "--host", "0.0.0.0"]
    [port] = app["ports"]  # the dashboard, published on the host's loopback only
    if isinstance(port, dict):  # docker compose v2 prints the long form
        port = f"{port['host_ip']}:{port['published']}:{port['target']}"
    assert port.removesuffix("/tcp") == "127.0.0.1:8000:8000"
    assert app["init"] is True and app["restart"] == "unless-stopped"
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert any(v.endswith("/deploy:/config:ro") for v in app["volumes"])
    assert db["image"] == "postgres:16" and "healthcheck" in db
    assert "pgdata" in config["volumes"]


@needs_compose
def test_compose_takes_secrets_from_dot_env(tmp_path: Path) -> None:
    example = (ROOT / ".env.example").read_text()
    (tmp_path / ".env").write_text(example.replace("POSTGRES_PASSWORD=change-me",
                                                   "POSTGRES_PASSWORD=s3cretpw"))
    env = compose_config(tmp_path)["services"]["newswatch"]["environment"]
    assert env["NEWSWATCH_DATABASE_URL"] == (
        "postgresql+psycopg://newswatch:s3cretpw@postgres:5432/newswatch")
    assert env["NEWSWATCH_HOOK_SECRET"] == "change-me-too"


def test_env_example_names_every_secret_the_compose_file_uses() -> None:
    example = (ROOT / ".env.example").read_text()
    for name in ("POSTGRES_PASSWORD", "NEWSWATCH_HOOK_SECRET", "SMTP_PASS", "TELEGRAM_BOT_TOKEN",
                 "TELEGRAM_CHAT_ID", "NEWSWATCH_SERVE_TOKEN"):
        assert f"\n{name}=" in example
        assert "${" + name in (ROOT / "docker-compose.yml").read_text()


def test_dockerfile_runs_the_daemon_on_python_311_slim_with_chromium() -> None:
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines()]
    assert "FROM python:3.11-slim" in lines
    assert 'ENTRYPOINT ["newswatch"]' in lines and 'CMD ["daemon"]' in lines
    assert any("apt-get install" in ln and "chromium" in ln for ln in lines)
    assert any(ln.startswith("RUN pip install .") for ln in lines)
