"""Public subscribers: double opt-in, one-click unsubscribe, rate limits, the fan-out of
published news, and their mail's outbox against a real local SMTP server."""

import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
import time_machine
from django.core import signing
from django.core.mail import mailers
from django.utils import timezone

from statuspage.alerts import subscriber_mail
from statuspage.alerts.models import Event, EventKind
from statuspage.alerts.outbox import event_record
from statuspage.alerts.subscriber_news import subscribers_announce
from statuspage.alerts.subscriber_tasks import subscriber_mails_send
from statuspage.alerts.subscribers import MailKind, MailState, Subscriber, SubscriberMail
from statuspage.alerts.subscriptions import (
    CONFIRM_SALT,
    Choice,
    subscription_confirm,
    subscription_request,
)
from statuspage.core.counters import local_clear
from statuspage.incidents.models import Incident, IncidentService, IncidentUpdate, Maintenance
from tests.alerts.conftest import smtp_mailers
from tests.alerts.receivers import free_port
from tests.factories import make_service

pytestmark = pytest.mark.django_db

BASE = "http://status.example.test/"
LINK = re.compile(r"http://\S+/status/subscribe/(confirm|unsubscribe)/([^/\s]+)/")


@pytest.fixture(autouse=True)
def _fresh_counters():
    local_clear()
    yield
    local_clear()


@pytest.fixture
def public_services(team):
    api = make_service("checkout-api", team=team, is_public=True, public_name="Checkout")
    web = make_service("storefront", team=team, is_public=True, public_name="Storefront")
    hidden = make_service("ledger-batch", team=team, is_public=False)
    return api, web, hidden


def _confirmed(email: str, *, services=(), now=None) -> Subscriber:
    now = now or timezone.now()
    choice = Choice(all_components=not services, service_ids=tuple(s.pk for s in services))
    mail = subscription_request(email=email, choice=choice, base_url=BASE, now=now)
    token = signing.dumps(
        {"s": mail.subscriber_id, "n": mail.context["nonce"], "c": mail.context["choice"]},
        salt=CONFIRM_SALT,
    )
    return subscription_confirm(token=token, now=now)


def _links(message: EmailMessage) -> dict[str, str]:
    text = message.get_body(("plain",)).get_content()
    return {kind: f"/status/subscribe/{kind}/{token}/" for kind, token in LINK.findall(text)}


def _published_incident(*services, title="Checkout errors") -> Incident:
    incident = Incident.objects.create(title=title, is_published=True, published_at=timezone.now())
    for service in services:
        IncidentService.objects.create(incident=incident, service=service)
    IncidentUpdate.objects.create(
        incident=incident, status="investigating", body="We are **looking** into it."
    )
    return incident


def _incident_event(incident: Incident, key: str | None = None) -> Event:
    return event_record(
        kind=EventKind.INCIDENT_PUBLISHED,
        key=key or f"incident:{incident.pk}:published",
        occurred_at=timezone.now(),
        context={},
        incident=incident,
    )


def _send_all() -> list[str]:
    ids = SubscriberMail.objects.order_by("pk").values_list("pk", flat=True)
    return [subscriber_mail.mail_send(pk) for pk in ids]


# ------------------------------------------------------------------------ the form


def test_form_answers_the_same_whether_or_not_the_address_is_subscribed(client, public_services):
    _confirmed("known@example.com")
    answers = []
    for address in ("known@example.com", "new@example.com"):
        response = client.post("/status/subscribe/", {"email": address, "scope": "all"})
        assert response.status_code == 302
        assert response["Location"] == "/status/subscribe/sent/"
        answers.append(client.get(response["Location"]).content)
    assert answers[0] == answers[1]
    assert b"Check your inbox" in answers[0]


def test_subscribe_page_lists_public_components_only(client, public_services):
    page = client.get("/status/subscribe/").content.decode()
    assert "Checkout" in page and "Storefront" in page
    assert "Ledger Batch" not in page and "ledger-batch" not in page


def test_choosing_components_without_any_is_a_form_error(client, public_services):
    response = client.post("/status/subscribe/", {"email": "a@example.com", "scope": "some"})
    assert response.status_code == 400
    assert b"Choose at least one component" in response.content
    assert not SubscriberMail.objects.exists()


def test_a_private_service_cannot_be_chosen(client, public_services):
    hidden = public_services[2]
    response = client.post(
        "/status/subscribe/",
        {"email": "a@example.com", "scope": "some", "services": [hidden.pk]},
    )
    assert response.status_code == 400
    assert not SubscriberMail.objects.exists()


def test_form_is_rate_limited_per_client(client, public_services):
    codes = [
        client.post(
            "/status/subscribe/", {"email": f"u{n}@example.com", "scope": "all"}
        ).status_code
        for n in range(7)
    ]
    assert codes[:5] == [302] * 5
    assert codes[5:] == [429, 429]
    assert SubscriberMail.objects.count() == 5


def test_one_address_gets_a_capped_number_of_confirmation_mails(public_services):
    now = timezone.now()
    made = [
        subscription_request(
            email="Target@Example.com ", choice=Choice(all_components=True), base_url=BASE, now=now
        )
        for _ in range(5)
    ]
    assert sum(mail is not None for mail in made) == 3
    assert Subscriber.objects.get().email == "target@example.com"
    later = now + timedelta(hours=1, minutes=1)
    again = subscription_request(
        email="target@example.com", choice=Choice(all_components=True), base_url=BASE, now=later
    )
    assert again is not None


# ------------------------------------------------------------------ double opt-in


def test_confirmation_link_from_the_mail_confirms_the_chosen_components(
    client, smtp, public_services
):
    _, web, _ = public_services
    client.post(
        "/status/subscribe/",
        {"email": "ana@example.com", "scope": "some", "services": [web.pk]},
    )
    assert _send_all() == ["sent"]
    (message,) = smtp.messages
    assert message["To"] == "ana@example.com"
    assert "Storefront" in message.get_body(("plain",)).get_content()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    links = _links(message)
    assert Subscriber.objects.get().confirmed_at is None

    response = client.get(links["confirm"])
    assert response.status_code == 200
    assert b"Subscription confirmed" in response.content
    subscriber = Subscriber.objects.get()
    assert subscriber.confirmed_at is not None
    assert not subscriber.all_components
    assert list(subscriber.services.all()) == [web]
    assert client.get(links["confirm"]).status_code == 200  # followed twice: no change


def test_nothing_but_the_confirmation_reaches_an_unconfirmed_address(public_services):
    api, _, _ = public_services
    subscription_request(
        email="wait@example.com",
        choice=Choice(all_components=True),
        base_url=BASE,
        now=timezone.now(),
    )
    assert subscribers_announce(_incident_event(_published_incident(api))) == 0
    assert list(SubscriberMail.objects.values_list("kind", flat=True)) == [MailKind.CONFIRM]


def test_tampered_expired_and_cross_purpose_links_are_refused(client, public_services):
    now = timezone.now()
    mail = subscription_request(
        email="bob@example.com", choice=Choice(all_components=True), base_url=BASE, now=now
    )
    links = subscriber_mail.mail_links(mail)
    confirm = links["confirm"].removeprefix(BASE.rstrip("/"))
    unsubscribe = links["unsubscribe"].removeprefix(BASE.rstrip("/"))
    token = confirm.split("/")[-2]

    assert client.get(confirm.replace(token, token[:-2] + "xx")).status_code == 400
    # An unsubscribe token does not confirm, and a confirm token does not unsubscribe.
    unsub_token = unsubscribe.split("/")[-2]
    assert client.get(f"/status/subscribe/confirm/{unsub_token}/").status_code == 400
    assert client.get(f"/status/subscribe/unsubscribe/{token}/").status_code == 400
    with time_machine.travel(now + timedelta(days=3, minutes=1)):
        response = client.get(confirm)
    assert response.status_code == 400
    assert b"expired" in response.content
    assert Subscriber.objects.get().confirmed_at is None


def test_a_link_of_one_subscriber_cannot_act_on_another(client, public_services):
    first = _confirmed("one@example.com")
    second = _confirmed("two@example.com")
    forged = signing.dumps({"s": second.pk, "n": first.nonce}, salt="other")
    assert client.get(f"/status/subscribe/unsubscribe/{forged}/").status_code == 400
    assert Subscriber.objects.count() == 2


# ---------------------------------------------------------------------- unsubscribe


def test_unsubscribe_link_in_every_mail_works_in_one_click_without_login(
    client, smtp, public_services
):
    api, _, _ = public_services
    _confirmed("cy@example.com")
    subscribers_announce(_incident_event(_published_incident(api)))
    assert _send_all() == ["sent", "sent"]  # the confirmation and the incident
    for message in smtp.messages:
        assert "/status/subscribe/unsubscribe/" in message.get_body(("plain",)).get_content()
        assert "/status/subscribe/unsubscribe/" in message.get_body(("html",)).get_content()
    link = _links(smtp.messages[-1])["unsubscribe"]

    response = client.get(link)
    assert response.status_code == 200
    assert b"You are unsubscribed" in response.content
    assert not Subscriber.objects.exists()
    assert client.get(link).status_code == 200  # twice: still a plain answer


def test_mail_client_one_click_post_unsubscribes_without_csrf_token(public_services):
    from django.test import Client

    subscriber = _confirmed("dee@example.com")
    mail = SubscriberMail.objects.get(subscriber=subscriber)
    link = subscriber_mail.mail_links(mail)["unsubscribe"].removeprefix(BASE.rstrip("/"))
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(link, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not Subscriber.objects.exists()


def test_resubscribing_voids_no_link_but_unsubscribing_voids_all(client, public_services):
    subscriber = _confirmed("eve@example.com")
    mail = SubscriberMail.objects.get(subscriber=subscriber)
    confirm = subscriber_mail.mail_links(mail)["confirm"].removeprefix(BASE.rstrip("/"))
    unsubscribe = subscriber_mail.mail_links(mail)["unsubscribe"].removeprefix(BASE.rstrip("/"))
    assert client.get(unsubscribe).status_code == 200
    response = client.get(confirm)
    assert response.status_code == 400
    assert not Subscriber.objects.exists()


# ------------------------------------------------------------------------- fan-out


def test_fanout_reaches_confirmed_subscribers_of_affected_components_once(public_services):
    api, web, hidden = public_services
    everyone = _confirmed("all@example.com")
    of_api = _confirmed("api@example.com", services=[api])
    of_web = _confirmed("web@example.com", services=[web])
    event = _incident_event(_published_incident(api, hidden))

    assert subscribers_announce(event) == 2
    assert subscribers_announce(event) == 2  # a redelivered sweep adds nothing
    told = SubscriberMail.objects.filter(event=event)
    assert sorted(told.values_list("subscriber_id", flat=True)) == sorted([everyone.pk, of_api.pk])
    assert of_web.pk not in told.values_list("subscriber_id", flat=True)
    context = told.first().context
    assert context["components"] == ["Checkout"]  # the private service is never named
    assert context["title"] == "Checkout errors"


def test_drafts_and_unpublished_maintenance_tell_nobody(public_services):
    _confirmed("all@example.com")
    draft = Incident.objects.create(title="Draft", is_published=False)
    assert subscribers_announce(_incident_event(draft)) == 0
    start = timezone.now()
    hidden = Maintenance.objects.create(
        title="Quiet",
        is_published=False,
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
    )
    event = event_record(
        kind=EventKind.MAINTENANCE_STARTED,
        key=f"maintenance:{hidden.pk}:started",
        occurred_at=start,
        context={},
        maintenance=hidden,
    )
    assert subscribers_announce(event) == 0
    assert SubscriberMail.objects.filter(event__isnull=False).count() == 0


def test_maintenance_mail_shows_public_facts_and_no_internal_note(smtp, public_services):
    api, _, hidden = public_services
    _confirmed("fay@example.com")
    SubscriberMail.objects.update(state=MailState.SENT)
    start = timezone.now()
    maintenance = Maintenance.objects.create(
        title="Database upgrade", scheduled_for=start, scheduled_until=start + timedelta(hours=2)
    )
    maintenance.services.set([api, hidden])
    event = event_record(
        kind=EventKind.MAINTENANCE_STARTED,
        key=f"maintenance:{maintenance.pk}:started",
        occurred_at=start,
        context={},
        maintenance=maintenance,
    )
    assert subscribers_announce(event) == 1
    assert _send_all() == ["skipped", "sent"]
    (message,) = smtp.messages
    text = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "[Status] Maintenance started: Database upgrade"
    assert "Checkout" in text
    assert "Ledger Batch" not in text and "Redeploy the previous tag" not in text
    assert f"/status/maintenance/{maintenance.pk}/" in text


# --------------------------------------------------------------------- the outbox


def test_a_sent_mail_is_never_sent_again(smtp, public_services):
    mail = subscription_request(
        email="gil@example.com",
        choice=Choice(all_components=True),
        base_url=BASE,
        now=timezone.now(),
    )
    subscriber_mails_send([mail.pk, mail.pk])
    subscriber_mails_send([mail.pk])
    assert len(smtp.messages) == 1
    assert SubscriberMail.objects.get().state == MailState.SENT


def test_send_task_skips_a_missing_row():
    assert subscriber_mail.mail_send(987654) == "skipped"


def test_crash_after_the_server_accepted_resends_with_the_same_message_id(smtp, public_services):
    now = timezone.now()
    mail = subscription_request(
        email="hal@example.com", choice=Choice(all_components=True), base_url=BASE, now=now
    )
    # A sender that dies after the server took the message but before recording it.
    claimed = subscriber_mail.claim(mail.pk, now=now)
    subscriber_mail._send(subscriber_mail.build(claimed), mailers.default)
    assert subscriber_mail.mail_send(mail.pk) == "skipped"  # its lease still holds
    with time_machine.travel(now + subscriber_mail.lease() + timedelta(seconds=1)):
        assert subscriber_mail.due_mail_ids(now=timezone.now()) == [mail.pk]
        assert subscriber_mail.mail_send(mail.pk) == "sent"
    first, second = smtp.messages
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].startswith(f"<{mail.key}@")


def test_unreachable_server_retries_with_backoff_then_leaves_a_dead_letter(
    settings, public_services
):
    settings.MAILERS = smtp_mailers(free_port())  # nothing listens there
    settings.ALERTS_MAX_ATTEMPTS = 3
    now = timezone.now()
    mail = subscription_request(
        email="ivy@example.com", choice=Choice(all_components=True), base_url=BASE, now=now
    )
    outcomes = []
    with time_machine.travel(now, tick=False) as clock:
        for _ in range(4):
            outcomes.append(subscriber_mail.mail_send(mail.pk))
            row = SubscriberMail.objects.get()
            if row.state == MailState.RETRYING:
                assert row.next_attempt_at > timezone.now()
                assert "ConnectionRefusedError" in row.last_error
                clock.move_to(row.next_attempt_at + timedelta(seconds=1))
    assert outcomes == ["retrying", "retrying", "dead", "skipped"]
    row = SubscriberMail.objects.get()
    assert row.attempts == 3
    assert "ConnectionRefusedError" in row.last_error


def test_refused_recipient_is_a_dead_letter_at_once(settings, public_services):
    from aiosmtpd.controller import Controller

    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 no such user"

    port = free_port()
    controller = Controller(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.MAILERS = smtp_mailers(port)
        mail = subscription_request(
            email="jo@example.com",
            choice=Choice(all_components=True),
            base_url=BASE,
            now=timezone.now(),
        )
        assert subscriber_mail.mail_send(mail.pk) == "dead"
    finally:
        controller.stop()
    row = SubscriberMail.objects.get()
    assert row.attempts == 1
    assert "550" in row.last_error


def test_the_incident_sweep_fans_published_news_out_to_subscribers(public_services):
    from django.db import transaction

    from statuspage.alerts.notices import incidents_sweep

    api, _, _ = public_services
    subscriber = _confirmed("kim@example.com", services=[api])
    incident = _published_incident(api, title="Payments slow")
    # Published after its first update: one "published" message carries it.
    Incident.objects.filter(pk=incident.pk).update(published_at=timezone.now())
    with transaction.atomic():
        incidents_sweep(now=timezone.now() + timedelta(seconds=1))
    with transaction.atomic():
        incidents_sweep(now=timezone.now() + timedelta(seconds=2))  # twice: nothing new
    mail = SubscriberMail.objects.get(subscriber=subscriber, kind=MailKind.INCIDENT)
    assert mail.event.incident_id == incident.pk
    assert mail.context["title"] == "Payments slow"
    assert mail.context["body"] == "We are **looking** into it."


def test_dead_letters_of_subscriber_mail_show_in_the_admin_with_their_reason(
    admin_client, public_services
):
    mail = subscription_request(
        email="lou@example.com",
        choice=Choice(all_components=True),
        base_url=BASE,
        now=timezone.now(),
    )
    SubscriberMail.objects.filter(pk=mail.pk).update(
        state=MailState.DEAD, attempts=6, last_error="SMTP 550"
    )
    page = admin_client.get("/admin/alerts/subscribermail/?state__exact=dead").content.decode()
    assert mail.key in page and "SMTP 550" in page
    page = admin_client.get("/admin/alerts/subscriber/").content.decode()
    assert "lou@example.com" in page
    detail = admin_client.get(f"/admin/alerts/subscribermail/{mail.pk}/change/").content.decode()
    assert mail.context["nonce"] not in detail  # the links' secret part is never shown


def test_subscribe_page_is_never_cached_and_reads_few_queries(
    client, public_services, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        response = client.get("/status/subscribe/")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert client.get("/status/subscribe/sent/")["Cache-Control"].startswith("max-age=0")
