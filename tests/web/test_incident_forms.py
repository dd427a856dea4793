"""The team site's incident and maintenance forms: who may use them, pre-filling, errors."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from checks.models import Check, State
from statuspage.catalog.models import Tier
from statuspage.incidents.models import Incident, IncidentUpdate, Maintenance
from statuspage.incidents.services import incident_open, incident_update_post
from statuspage.incidents.services_maintenance import maintenance_schedule
from tests.checks.factories import make_check
from tests.factories import make_service, make_user

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LOCAL = "%Y-%m-%dT%H:%M"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(T0, tick=False)
    return time_machine


@pytest.fixture
def writer(db):
    return make_user("wendy", role="Incident writers")


@pytest.fixture
def writer_client(client, writer):
    client.force_login(writer)
    return client


@pytest.fixture
def incident(service, writer):
    return incident_open(
        title="Checkout is down",
        impact="major",
        affected={service: "major_outage"},
        body="Investigating.",
        publish=False,
        by=writer,
    )


def set_states(service, *states: str, since: datetime = T0 - timedelta(minutes=12)) -> None:
    for index, state in enumerate(states):
        check = make_check(service, f"check-{index}")
        Check.objects.filter(pk=check.pk).update(
            state=state, state_changed_at=since + timedelta(minutes=index)
        )


def incident_post(service, **overrides) -> dict:
    data = {
        "title": "Checkout is down",
        "impact": "major",
        "status": "investigating",
        "started_at": (T0 - timedelta(minutes=5)).strftime(LOCAL),
        "body": "We are looking into it.",
        "publish": "on",
        "affected-TOTAL_FORMS": "3",
        "affected-INITIAL_FORMS": "0",
        "affected-MIN_NUM_FORMS": "0",
        "affected-MAX_NUM_FORMS": "50",
        "affected-0-service": str(service.pk),
        "affected-0-component_status": "major_outage",
        "affected-1-service": "",
        "affected-1-component_status": "partial_outage",
        "affected-2-service": "",
        "affected-2-component_status": "partial_outage",
    }
    return {**data, **overrides}


def update_post(incident, **overrides) -> dict:
    rows = list(incident.affected.all())
    data = {
        "status": "identified",
        "body": "Found it.",
        "affected-TOTAL_FORMS": str(len(rows) + 2),
        "affected-INITIAL_FORMS": str(len(rows)),
        "affected-MIN_NUM_FORMS": "0",
        "affected-MAX_NUM_FORMS": "50",
    }
    for index, row in enumerate(rows):
        data[f"affected-{index}-service"] = str(row.service_id)
        data[f"affected-{index}-component_status"] = row.component_status
    for index in range(len(rows), len(rows) + 2):
        data[f"affected-{index}-service"] = ""
        data[f"affected-{index}-component_status"] = "partial_outage"
    return {**data, **overrides}


# ---------------------------------------------------------------- who may use them

PAGES = [
    ("incident-list", False),
    ("incident-new", False),
    ("incident-detail", True),
    ("maintenance-list", False),
    ("maintenance-new", False),
]


@pytest.mark.parametrize(("name", "needs_incident"), PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, incident, name, needs_incident):
    url = reverse(name, args=[incident.pk] if needs_incident else [])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize(("name", "needs_incident"), PAGES)
def test_viewers_and_editors_are_refused(client, viewer, editor, incident, name, needs_incident):
    url = reverse(name, args=[incident.pk] if needs_incident else [])
    for user in (viewer, editor):
        client.force_login(user)
        assert client.get(url).status_code == 403


@pytest.mark.parametrize(("name", "needs_incident"), PAGES)
def test_writers_and_superusers_see_the_pages(
    client, writer, admin_user, incident, name, needs_incident
):
    url = reverse(name, args=[incident.pk] if needs_incident else [])
    for user in (writer, admin_user):
        client.force_login(user)
        assert client.get(url).status_code == 200


def test_a_viewer_cannot_post_anything(client, viewer, service, incident):
    client.force_login(viewer)
    posts = [
        (reverse("incident-new"), incident_post(service)),
        (reverse("incident-update", args=[incident.pk]), update_post(incident)),
        (reverse("incident-publish", args=[incident.pk]), {}),
        (reverse("maintenance-new"), {"title": "x"}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403
    assert Incident.objects.count() == 1 and IncidentUpdate.objects.count() == 1
    assert not Incident.objects.get().is_published


def test_posts_need_the_csrf_token(writer, service):
    client = Client(enforce_csrf_checks=True)
    client.force_login(writer)
    assert client.post(reverse("incident-new"), incident_post(service)).status_code == 403
    assert not Incident.objects.exists()


# ---------------------------------------------------------------- opening an incident


def test_opening_from_a_down_service_is_pre_filled(writer_client, team):
    payments = make_service("payments-api", team=team, tier=Tier.CRITICAL, public_name="Payments")
    set_states(payments, State.DOWN, State.DOWN)
    response = writer_client.get(reverse("incident-new") + "?service=payments-api")
    form, formset = response.context["form"], response.context["formset"]
    assert form["title"].value() == "Payments is down"
    assert form["impact"].value() == "critical"
    # Shown in the viewer's zone (UTC here), without an offset, as the picker wants it.
    assert form["started_at"].value() == (T0 - timedelta(minutes=12)).replace(tzinfo=None)
    assert formset.forms[0]["service"].value() == str(payments.pk)
    assert formset.forms[0]["component_status"].value() == "major_outage"
    assert b'value="Payments is down"' in response.content


def test_a_service_partly_down_is_pre_filled_as_a_partial_outage(writer_client, team):
    search = make_service("search-api", team=team, tier=Tier.HIGH)
    set_states(search, State.DOWN, State.UP)
    response = writer_client.get(reverse("incident-new") + "?service=search-api")
    assert response.context["form"]["impact"].value() == "major"
    assert response.context["formset"].forms[0]["component_status"].value() == "partial_outage"


def test_a_degraded_service_is_pre_filled_as_degraded(writer_client, service):
    set_states(service, State.DEGRADED)
    response = writer_client.get(reverse("incident-new") + "?service=checkout-api")
    assert response.context["form"]["title"].value() == "Checkout Api is degraded"
    assert response.context["form"]["impact"].value() == "minor"
    assert (
        response.context["formset"].forms[0]["component_status"].value() == "degraded_performance"
    )


def test_an_unknown_service_is_not_found(writer_client):
    assert writer_client.get(reverse("incident-new") + "?service=nope").status_code == 404


def test_the_list_offers_to_open_an_incident_for_each_service_with_problems(
    writer_client, service, other_service
):
    set_states(service, State.DOWN)
    set_states(other_service, State.UP)
    response = writer_client.get(reverse("incident-list"))
    assert [p.service for p in response.context["problems"]] == [service]
    assert b'href="/incidents/new/?service=checkout-api"' in response.content


def test_the_list_names_the_open_incident_that_covers_a_service(writer_client, incident):
    set_states(incident.affected.get().service, State.DOWN)
    (problem,) = writer_client.get(reverse("incident-list")).context["problems"]
    assert problem.incident == incident


def test_opening_an_incident_writes_it_and_shows_it(writer_client, writer, service):
    response = writer_client.post(reverse("incident-new"), incident_post(service))
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("incident-detail", args=[incident.pk])
    assert (incident.title, incident.is_published, incident.created_by) == (
        "Checkout is down",
        True,
        writer,
    )
    assert incident.started_at == T0 - timedelta(minutes=5)
    assert list(incident.affected.values_list("service_id", "component_status")) == [
        (service.pk, "major_outage")
    ]
    page = writer_client.get(response["Location"])
    assert b"We are looking into it." in page.content


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required."),
        ({"body": ""}, "body", "This field is required."),
        ({"body": "  \n "}, "body", "The update cannot be empty."),
        ({"impact": "huge"}, "impact", "Select a valid choice."),
        ({"status": "postmortem"}, "status", "Select a valid choice."),
        (
            {"started_at": (T0 + timedelta(hours=1)).strftime(LOCAL)},
            "started_at",
            "The start cannot be in the future.",
        ),
    ],
)
def test_bad_input_shows_the_errors_and_writes_nothing(
    writer_client, service, overrides, field, message
):
    response = writer_client.post(reverse("incident-new"), incident_post(service, **overrides))
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert b'role="alert"' in response.content
    assert not Incident.objects.exists()


def test_a_service_listed_twice_is_refused(writer_client, service):
    data = incident_post(service, **{"affected-1-service": str(service.pk)})
    response = writer_client.post(reverse("incident-new"), data)
    assert response.status_code == 400
    assert response.context["formset"].non_form_errors() == ["Each service can be listed once."]
    assert not Incident.objects.exists()


# ---------------------------------------------------------------- updates, publishing


def test_posting_an_update_moves_the_incident(writer_client, incident, other_service):
    data = update_post(
        incident,
        **{
            "affected-1-service": str(other_service.pk),
            "affected-1-component_status": "degraded_performance",
        },
    )
    response = writer_client.post(reverse("incident-update", args=[incident.pk]), data)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "identified"
    assert incident.affected.count() == 2
    assert incident.updates.order_by("-pk").first().body == "Found it."


def test_an_update_leaves_the_affected_services_alone_when_they_are_unchanged(
    writer_client, incident
):
    writer_client.post(reverse("incident-update", args=[incident.pk]), update_post(incident))
    assert list(incident.affected.values_list("component_status", flat=True)) == ["major_outage"]


def test_going_back_from_resolved_needs_reopen(writer_client, writer, incident):
    incident_update_post(incident=incident, status="resolved", body="Done.", by=writer)
    url = reverse("incident-update", args=[incident.pk])
    response = writer_client.post(url, update_post(incident, status="investigating"))
    assert response.status_code == 400
    assert "reopen it explicitly" in response.context["update_form"].errors["status"][0]
    assert incident.updates.count() == 2
    response = writer_client.post(url, update_post(incident, status="investigating", reopen="on"))
    assert response.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == ("investigating", None)


def test_an_empty_update_writes_nothing(writer_client, incident):
    url = reverse("incident-update", args=[incident.pk])
    response = writer_client.post(url, update_post(incident, body=""))
    assert response.status_code == 400
    assert incident.updates.count() == 1


def test_publishing_a_draft(writer_client, incident):
    response = writer_client.post(reverse("incident-publish", args=[incident.pk]))
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.is_published and incident.published_at == T0
    assert writer_client.get(reverse("incident-publish", args=[incident.pk])).status_code == 405


def test_the_postmortem_form_needs_a_resolved_incident(writer_client, writer, incident):
    url = reverse("incident-postmortem", args=[incident.pk])
    response = writer_client.post(url, {"body": "# What happened"})
    assert response.status_code == 400
    assert "Resolve the incident" in response.context["postmortem_form"].errors["body"][0]
    incident_update_post(incident=incident, status="resolved", body="Done.", by=writer)
    assert writer_client.post(url, {"body": "# What happened"}).status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.postmortem) == ("postmortem", "# What happened")


def test_markdown_in_updates_is_rendered_sanitized(writer_client, writer, incident):
    incident_update_post(
        incident=incident,
        status="identified",
        body="**Cause** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=y>",
        by=writer,
    )
    content = writer_client.get(reverse("incident-detail", args=[incident.pk])).content
    assert b"<strong>Cause</strong>" in content
    assert b"<script>alert" not in content and b"javascript:" not in content
    assert b"onerror" not in content


def test_the_pages_carry_no_inline_script_or_style(writer_client, incident):
    for url in (
        reverse("incident-list"),
        reverse("incident-new"),
        reverse("incident-detail", args=[incident.pk]),
        reverse("maintenance-new"),
    ):
        content = writer_client.get(url).content.decode()
        assert " style=" not in content and "<style" not in content
        assert "<script>" not in content and " onclick=" not in content


def test_the_pages_keep_a_fixed_number_of_queries(
    writer_client, writer, team, incident, django_assert_num_queries
):
    for index in range(5):
        service = make_service(f"svc-{index}", team=team)
        set_states(service, State.DOWN)
        incident_open(
            title=f"Incident {index}",
            impact="minor",
            affected={service: "major_outage"},
            body="x",
            publish=True,
            by=writer,
        )
    # Session, user and permissions (2), then the page's own reads: incidents, their
    # services; check states, maintenance, services (the "problems now" list).
    with django_assert_num_queries(9):
        assert writer_client.get(reverse("incident-list")).status_code == 200
    # Incident, its services, its updates (with authors), the service choices.
    with django_assert_num_queries(8):
        assert writer_client.get(reverse("incident-detail", args=[incident.pk])).status_code == 200


# ---------------------------------------------------------------- maintenance


def test_the_maintenance_pages_keep_a_fixed_number_of_queries(
    writer_client, writer, team, django_assert_num_queries
):
    services = [make_service(f"svc-{index}", team=team) for index in range(4)]
    for index in range(3):
        maintenance = maintenance_schedule(
            title=f"Upgrade {index}",
            services=services,
            scheduled_for=T0 + timedelta(hours=index + 1),
            scheduled_until=T0 + timedelta(hours=index + 2),
            body="Short.",
            by=writer,
        )
    # Session, user, permissions (2); maintenance, their services.
    with django_assert_num_queries(6):
        assert writer_client.get(reverse("maintenance-list")).status_code == 200
    # Maintenance, its services, its updates.
    with django_assert_num_queries(7):
        url = reverse("maintenance-detail", args=[maintenance.pk])
        assert writer_client.get(url).status_code == 200


def maintenance_post(service, **overrides) -> dict:
    data = {
        "title": "Database upgrade",
        "services": [str(service.pk)],
        "scheduled_for": (T0 + timedelta(hours=1)).strftime(LOCAL),
        "scheduled_until": (T0 + timedelta(hours=2)).strftime(LOCAL),
        "body": "Expect a few minutes of errors.",
        "publish": "on",
        "auto_start": "on",
        "auto_complete": "on",
    }
    return {**data, **overrides}


def test_scheduling_maintenance(writer_client, service):
    response = writer_client.post(reverse("maintenance-new"), maintenance_post(service))
    maintenance = Maintenance.objects.get()
    assert response["Location"] == reverse("maintenance-detail", args=[maintenance.pk])
    assert maintenance.scheduled_for == T0 + timedelta(hours=1)
    assert list(maintenance.services.all()) == [service]
    listing = writer_client.get(reverse("maintenance-list"))
    assert b"Database upgrade" in listing.content


def test_times_are_read_in_the_writers_time_zone(writer_client, writer, service):
    writer.time_zone = "Europe/Paris"  # UTC+1 in November
    writer.save(update_fields=["time_zone"])
    writer_client.post(reverse("maintenance-new"), maintenance_post(service))
    assert Maintenance.objects.get().scheduled_for == T0  # 10:00 in Paris


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"scheduled_until": (T0 + timedelta(minutes=30)).strftime(LOCAL)},
            "scheduled_until",
            "The window must end after it starts.",
        ),
        ({"services": []}, "services", "This field is required."),
        ({"body": ""}, "body", "This field is required."),
        (
            {
                "scheduled_for": (T0 - timedelta(hours=2)).strftime(LOCAL),
                "scheduled_until": (T0 - timedelta(hours=1)).strftime(LOCAL),
            },
            "scheduled_until",
            "already ended",
        ),
    ],
)
def test_bad_maintenance_input_writes_nothing(writer_client, service, overrides, field, message):
    response = writer_client.post(
        reverse("maintenance-new"), maintenance_post(service, **overrides)
    )
    assert response.status_code == 400
    assert message in response.context["form"].errors[field][0]
    assert not Maintenance.objects.exists()


def test_posting_a_maintenance_update(writer_client, service, clock):
    writer_client.post(reverse("maintenance-new"), maintenance_post(service))
    maintenance = Maintenance.objects.get()
    url = reverse("maintenance-update", args=[maintenance.pk])
    response = writer_client.post(url, {"status": "in_progress", "body": "Started early."})
    assert response.status_code == 302
    maintenance.refresh_from_db()
    assert (maintenance.status, maintenance.started_at) == ("in_progress", T0)
    response = writer_client.post(url, {"status": "scheduled", "body": "Oops."})
    assert response.status_code == 400
    assert "cannot go back" in response.context["update_form"].errors["status"][0]
    assert maintenance.updates.count() == 2
