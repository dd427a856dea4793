from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from statuspage.core.management.commands.admin_password import password_file, password_keep


def run(*args: str) -> str:
    out = StringIO()
    call_command("admin_password", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.DEBUG = True
    return tmp_path


@pytest.mark.django_db
def test_shows_the_generated_password_again(var_dir):
    get_user_model().objects.create_superuser("admin", "", "generated-pass-1234")
    password_keep("generated-pass-1234")
    assert run().strip() == "admin / generated-pass-1234"
    assert oct(password_file().stat().st_mode & 0o777) == "0o600"


@pytest.mark.django_db
def test_refuses_to_show_a_password_changed_elsewhere(var_dir):
    user = get_user_model().objects.create_superuser("admin", "", "generated-pass-1234")
    password_keep("generated-pass-1234")
    user.set_password("chosen-by-a-person-5678")
    user.save()
    with pytest.raises(CommandError, match="--reset"):
        run()


@pytest.mark.django_db
def test_reset_sets_a_new_password_that_works_and_can_be_shown(var_dir):
    get_user_model().objects.create_superuser("admin", "", "generated-pass-1234")
    output = run("--reset")
    password = output.split(" / ")[1].split()[0]
    user = get_user_model().objects.get(username="admin")
    assert user.check_password(password)
    assert not user.check_password("generated-pass-1234")
    assert run().strip() == f"admin / {password}"


@pytest.mark.django_db
def test_without_an_admin_it_says_how_to_get_one(var_dir):
    with pytest.raises(CommandError, match="make run"):
        run()


@pytest.mark.django_db
def test_reset_outside_debug_keeps_no_file(var_dir, settings):
    settings.DEBUG = False
    get_user_model().objects.create_superuser("admin", "", "generated-pass-1234")
    run("--reset")
    assert not password_file().exists()
