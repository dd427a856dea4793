"""The account page: each user picks the time zone the team pages show times in."""

import pytest

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/account/"


def test_shows_the_current_zone_selected(client):
    user = make_user("kenji")
    user.time_zone = "Asia/Tokyo"
    user.save()
    client.force_login(user)

    html = client.get("/account/").content.decode()

    assert '<option value="Asia/Tokyo" selected>Asia/Tokyo</option>' in html
    assert '<option value="Europe/Paris">Europe/Paris</option>' in html
    assert '<label for="id_time_zone">Time zone</label>' in html


def test_saving_a_zone_changes_how_times_are_shown(client):
    user = make_user("ana")
    client.force_login(user)

    response = client.post("/account/", {"time_zone": "America/Sao_Paulo"}, follow=True)

    user.refresh_from_db()
    assert user.time_zone == "America/Sao_Paulo"
    assert response.redirect_chain == [("/account/", 302)]
    assert "Times are now shown in America/Sao_Paulo." in response.content.decode()
    assert "Times in America/Sao_Paulo" in client.get("/").content.decode()


def test_an_unknown_zone_is_refused(client):
    user = make_user("ana")
    client.force_login(user)

    response = client.post("/account/", {"time_zone": "Mars/Olympus_Mons"})

    user.refresh_from_db()
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert user.time_zone == "UTC"
