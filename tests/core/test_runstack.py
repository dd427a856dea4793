"""`make run`'s command: quiet unless LOG_LEVEL asks for more; the login last."""

from statuspage.core import stack
from statuspage.core.management.commands import runstack


def argv_of(children: list, name: str) -> list[str]:
    return next(child.argv for child in children if child.name == name)


def test_quiet_by_default(monkeypatch):
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    level = stack.log_level()
    assert level == "WARNING"
    children = stack.child_specs(8000, level)
    assert [child.name for child in children] == ["web", "worker", "beat", "demo"]
    worker, beat = argv_of(children, "worker"), argv_of(children, "beat")
    assert "--quiet" in worker and "--quiet" in beat
    assert worker[worker.index("--loglevel") + 1] == "WARNING"
    assert "--log-level=warning" in argv_of(children, "web")
    assert "--port=8001" in argv_of(children, "demo")


def test_log_level_shows_more(monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "info")
    level = stack.log_level()
    assert level == "INFO"
    worker = argv_of(stack.child_specs(9000, level), "worker")
    assert "--quiet" not in worker
    assert worker[worker.index("--loglevel") + 1] == "INFO"


def test_banner_ends_with_the_url_and_the_login_and_says_how_to_see_it_again(monkeypatch, settings):
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.setattr(runstack, "describe_database", lambda: "SQLite (x)")
    lines = runstack.banner(8000, "s3cret-pass")
    text = "\n".join(lines)
    assert "http://127.0.0.1:8000" in text
    assert "admin / s3cret-pass" in text
    assert ".venv/bin/python manage.py admin_password" in text
    assert "LOG_LEVEL=INFO make run" in text
    changed = "\n".join(runstack.banner(8000, None))
    assert "admin_password --reset" in changed


def test_banner_says_where_mail_goes(monkeypatch, settings, tmp_path):
    monkeypatch.setattr(runstack, "describe_database", lambda: "SQLite (x)")
    folder = tmp_path / "mail"
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(folder)},
        }
    }
    assert f"  Mail              written as files to {folder}/ (set EMAIL_HOST to send)" in (
        runstack.banner(8000, "pw")
    )
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "smtp.example.com", "port": 587},
        }
    }
    assert "  Mail              SMTP smtp.example.com:587" in runstack.banner(8000, "pw")
