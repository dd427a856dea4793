"""The README's runnable blocks name real commands (scripts/check_readme.py runs them)."""

import shlex
import sys
from pathlib import Path

from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import check_readme  # noqa: E402


def test_readme_marks_the_everyday_commands_runnable():
    lines = [
        command for _, command in check_readme.runnable_lines((ROOT / "README.md").read_text())
    ]
    joined = "\n".join(lines)
    for name in ("admin_password", "seed_demo", "sync_catalog", "record_deploy", "run_check"):
        assert f".venv/bin/python manage.py {name}" in joined


def test_every_runnable_manage_py_line_names_an_existing_command():
    known = get_commands()
    for number, command in check_readme.runnable_lines((ROOT / "README.md").read_text()):
        words = shlex.split(command.replace("\\\n", " "), comments=True)
        assert words[:2] == [".venv/bin/python", "manage.py"], f"README.md:{number}"
        assert words[2] in known, f"README.md:{number}: no command {words[2]!r}"


def test_continuation_lines_and_comments_are_parsed_as_one_command():
    text = (
        "<!-- readme-check: runnable -->\n```sh\n# a comment\n\n"
        "echo one \\\n  two\necho three   # trailing\n```\n```sh\necho not marked\n```\n"
    )
    assert check_readme.runnable_lines(text) == [
        (5, "echo one \\\n  two"),
        (7, "echo three   # trailing"),
    ]


def test_a_failing_line_is_named_with_its_readme_line_number(tmp_path, capsys):
    lines = [(12, "true"), (14, "echo broken >&2; exit 3"), (16, "touch never-run")]
    assert not check_readme.run_lines(tmp_path, {"PATH": "/usr/bin:/bin"}, lines, "beside make run")
    out = capsys.readouterr().out
    assert "ok   README.md:12" in out
    assert "FAIL README.md:14 (beside make run, exit 3): echo broken" in out
    assert "broken" in out.split("FAIL", 1)[1]
    assert not (tmp_path / "never-run").exists()
