"""Settings come from the environment, and production refuses to start without its secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from qualityportal.env import database_from_url, env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
    "PSEUDONYM_KEY": "a-long-random-production-pseudonym-key-0123456789",
    "ALLOWED_HOSTS": "kvalitet.example.dk",
    "DATABASE_URL": "sqlite:///var/test-deploy.sqlite3",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "PYTHONPATH"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**keep, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_env_bool_reads_the_usual_spellings(monkeypatch):
    for raw, expected in [("1", True), ("true", True), ("Yes", True), ("0", False), ("off", False)]:
        monkeypatch.setenv("X_FLAG", raw)
        assert env_bool("X_FLAG") is expected
    monkeypatch.delenv("X_FLAG")
    assert env_bool("X_FLAG", default=True) is True


def test_env_bool_refuses_nonsense(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG")


def test_env_int_and_list(monkeypatch):
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a.dk, b.dk,,")
    assert env_int("X_INT", 1) == 42
    assert env_list("X_LIST", []) == ["a.dk", "b.dk"]
    monkeypatch.setenv("X_INT", "forty")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env_int("X_INT", 1)


def test_secrets_can_come_from_files(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n", encoding="utf-8")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    monkeypatch.setenv("X_SECRET", "from-the-environment")
    assert env_str("X_SECRET") == "from-a-file"


def test_database_url_postgres_and_sqlite():
    pg = database_from_url("postgres://portal:s%40cret@db.example:5433/kvalitet", ROOT)
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "kvalitet",
        "portal",
        "s@cret",
        "db.example",
        "5433",
    )
    lite = database_from_url("sqlite:///var/x.sqlite3", ROOT)
    assert lite["ENGINE"] == "django.db.backends.sqlite3"
    assert lite["NAME"] == str(ROOT / "var" / "x.sqlite3")
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        database_from_url("mysql://x/y", ROOT)


def test_production_settings_pass_check_deploy():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "PSEUDONYM_KEY"])
def test_production_start_without_a_secret_refuses_with_a_clear_message(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert f"without {missing}" in result.stderr
    assert "DEBUG=1" in result.stderr


def test_debug_runs_without_secrets():
    result = run_manage("check", env={"DEBUG": "1", "DATABASE_URL": "sqlite:///var/x.sqlite3"})
    assert result.returncode == 0, result.stderr


def settings_in(env: dict[str, str], *names: str) -> list[str]:
    """The values of ``names`` as a fresh process with ``env`` reads them."""
    code = f"from django.conf import settings as s; print(*(getattr(s, n) for n in {names!r}))"
    result = run_manage("shell", "--no-imports", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_production_cookies_are_secure_even_without_the_https_redirect():
    names = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")
    assert settings_in({**PRODUCTION_ENV, "SECURE_SSL_REDIRECT": "0"}, *names) == ["True"] * 2
    assert settings_in(PRODUCTION_ENV, *names) == ["True"] * 2
    debug = {"DEBUG": "1", "DATABASE_URL": "sqlite:///var/x.sqlite3"}
    assert settings_in(debug, *names) == ["False"] * 2


def test_login_rate_limits_trust_one_proxy_in_production_and_none_in_debug():
    name = "ALLAUTH_TRUSTED_PROXY_COUNT"
    assert settings_in(PRODUCTION_ENV, name) == ["1"]
    assert settings_in({**PRODUCTION_ENV, "TRUSTED_PROXY_COUNT": "2"}, name) == ["2"]
    assert settings_in({"DEBUG": "1", "DATABASE_URL": "sqlite:///var/x.sqlite3"}, name) == ["0"]


def test_a_command_without_the_production_secrets_says_what_to_set_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "PSEUDONYM_KEY", "DEBUG"}}
    done = subprocess.run(
        [sys.executable, "manage.py", "generate_extract", "--rows", "5", "--out", os.devnull],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "SECRET_KEY" in done.stderr


def test_without_a_broker_tasks_run_in_process_without_a_broker_warning():
    env = {
        k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "DATABASE_URL"}
    } | {"DEBUG": "1", "PORTAL_VAR_DIR": os.environ.get("TMPDIR", "/tmp")}
    script = (
        "import django; django.setup()\n"
        "from qualityportal.celery import app\n"
        "from indicators.tasks import send, requeue_stale_task\n"
        "with app.producer_or_acquire(None) as producer: print(producer.connection.transport_cls)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env | {"DJANGO_SETTINGS_MODULE": "qualityportal.settings"},
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert "memory" in done.stdout
    assert "No hostname was supplied" not in done.stderr
