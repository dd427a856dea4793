"""Update bodies in the v2 JSON are plain text: widgets that insert them as HTML run nothing."""

import json

import pytest

from statuspage.core.markdown_text import markdown_text
from statuspage.incidents.models import IncidentUpdate
from tests.web.public_worlds import build_world

pytestmark = pytest.mark.django_db

HOSTILE = (
    "<script>alert(1)</script>Payments are **slow**.\n\n"
    '<img src=x onerror="alert(2)">\n\n'
    "[status](javascript:alert(3)) and [docs](https://example.com/docs)\n\n"
    "&lt;script&gt;alert(4)&lt;/script&gt; a < b\n\n"
    "- retry later\n- or pay by card"
)
PLAIN = (
    "Payments are slow.\n\nstatus and docs\n\nalert(4) a < b\n\n- retry later\n\n- or pay by card"
)


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("We are **looking** into errors.", "We are looking into errors."),
        ("<b onmouseover=alert(1)>bold</b>", "bold"),
        ("`<script>`", ""),
        ("&lt;&lt;script&gt;script&gt;x", "x"),
        ("Go to JavaScript:void(0)", "Go to void(0)"),
        ("1 < 2 > 0", "1 < 2 > 0"),
        (HOSTILE, PLAIN),
    ],
)
def test_markdown_becomes_plain_text_without_markup(markdown, text):
    assert markdown_text(markdown) == text


@pytest.mark.parametrize(
    "endpoint", ["summary.json", "incidents.json", "incidents/unresolved.json"]
)
def test_update_bodies_carry_no_markup_in_any_endpoint(client, endpoint):
    world = build_world()
    IncidentUpdate.objects.filter(incident=world.active, status="identified").update(body=HOSTILE)
    raw = client.get(f"/api/v2/{endpoint}").content.decode()
    for needle in ("<script", "<img", "onerror", "javascript:", "&lt;script"):
        assert needle not in raw.lower()
    incident = next(i for i in json.loads(raw)["incidents"] if i["id"] == f"i{world.active.pk}")
    bodies = [u["body"] for u in incident["incident_updates"]]
    assert bodies == [PLAIN, "We are looking into errors."]


def test_the_page_still_shows_the_sanitized_markdown(client):
    world = build_world()
    IncidentUpdate.objects.filter(incident=world.active, status="identified").update(body=HOSTILE)
    html = client.get(f"/status/incidents/{world.active.pk}/").content.decode()
    assert "<strong>slow</strong>" in html
    assert "<script>alert" not in html and "onerror" not in html
