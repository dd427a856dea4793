"""The team pages in a real browser (Debian's Chromium through Playwright): reading, filtering,
the service page and its chart, owner notes edited in the admin, the page refreshing itself,
keyboard use, accessibility (axe-core) and the screenshots kept in docs/screenshots/."""

import math
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from checks.histogram import BUCKET_BOUNDS_MS, bucket_of
from checks.models import (
    Check,
    DeploymentImpact,
    Kind,
    Outcome,
    Rollup,
    State,
    Transition,
    Verdict,
)
from checks.services import Observation, results_record
from statuspage.catalog.models import Deployment, OwnerNote, Tier
from statuspage.incidents.models import Maintenance, MaintenanceStatus
from tests.factories import make_service, make_team, make_user

pytestmark = pytest.mark.django_db(transaction=True)

# slug, team, tier, state of its HTTP check (None: no HTTP check), latency now (ms)
SERVICES = [
    ("checkout-api", "payments", Tier.CRITICAL, State.UP, 118.0),
    ("payment-webhooks", "payments", Tier.HIGH, State.UP, 64.0),
    ("sign-in", "identity", Tier.CRITICAL, State.DOWN, None),
    ("user-profile", "identity", Tier.NORMAL, State.DEGRADED, 480.0),
    ("search-api", "search", Tier.HIGH, State.UP, 41.0),
    ("search-indexer", "search", Tier.NORMAL, State.UP, 22.0),
    ("nightly-export", "data", Tier.LOW, None, None),
    ("storefront", "web", Tier.CRITICAL, State.UP, 236.0),
    ("recommendations", "web", Tier.NORMAL, State.UNKNOWN, None),
    ("email-sender", "data", Tier.NORMAL, State.DOWN, None),
    ("reports", "data", Tier.LOW, State.UP, 310.0),
    ("inventory", "payments", Tier.HIGH, State.UP, 87.0),
]


def spread(check, start, *, period="hour", base_ms: float, phase: float, up=60, down=0):
    """A rollup whose results spread over three latency buckets around ``base_ms``; the
    share in the slower bucket follows ``phase``, so latency drifts as real traffic does."""
    middle = bucket_of(base_ms)
    slow = 0.15 + 0.12 * math.sin(phase)
    counts = {middle - 1: round(up * 0.2), middle + 1: round(up * slow)}
    counts[middle] = up - sum(counts.values())
    scale = 1 if period == "hour" else 24
    bounds = (0.0, *BUCKET_BOUNDS_MS)
    total_ms = sum(n * (bounds[b] + bounds[b + 1]) / 2 for b, n in counts.items())
    return Rollup(
        check_ref=check,
        period=period,
        start=start,
        up=up * scale,
        down=down * scale,
        latency_sum_ms=total_ms * scale,
        latency_count=up * scale,
        **{f"h{bucket:02d}": n * scale for bucket, n in counts.items()},
    )


def seed() -> dict:
    """A realistic catalog: mixed states, 90 days of history, deployments with verdicts."""
    now = timezone.now()
    hour, day = now.replace(minute=0, second=0, microsecond=0), now.replace(hour=0, minute=0)
    teams = {slug: make_team(slug) for slug in ("payments", "identity", "search", "data", "web")}
    made, rows = {}, []
    for index, (slug, team, tier, state, latency) in enumerate(SERVICES):
        service = make_service(slug, team=teams[team], tier=tier, is_paused=slug == "reports")
        made[slug] = service
        if state is None:
            continue
        check = Check.objects.create(
            service=service,
            name="health",
            kind=Kind.HTTP,
            config={"url": f"http://127.0.0.1:9/{slug}/health"},
            degraded_ms=300,
            state=state,
            state_changed_at=now - timedelta(hours=3),
            last_checked_at=None if state == State.UNKNOWN else now - timedelta(seconds=20),
            last_outcome={State.UP: 1, State.DEGRADED: 2, State.DOWN: 3}.get(state),
            last_latency_ms=latency,
            last_detail="connect: connection refused" if state == State.DOWN else "200 OK",
        )
        base = latency or 90.0
        for h in range(7 * 24):
            start = hour - timedelta(hours=h)
            # Busier afternoons (UTC) are a little slower.
            phase = (start.hour - 9) / 24 * 2 * math.pi + index
            rows.append(spread(check, start, base_ms=base, phase=phase))
        for d in range(90):
            bad = (d + index) % 37 == 0
            rows.append(
                spread(
                    check,
                    day - timedelta(days=d),
                    period="day",
                    base_ms=base * (1.4 if bad else 1.0),
                    phase=d / 5 + index,
                    up=56 if bad else 60,
                    down=4 if bad else 0,
                )
            )
    Rollup.objects.bulk_create(rows)
    for slug, interval, pinged, state in [
        ("payment-webhooks", 300, timedelta(minutes=40), State.DOWN),  # failing
        ("nightly-export", 86_400, timedelta(hours=2), State.UP),
        ("search-indexer", 600, timedelta(minutes=15), State.UP),  # late
    ]:
        Check.objects.create(
            service=made[slug],
            name="webhook consumer" if slug == "payment-webhooks" else "job heartbeat",
            kind=Kind.HEARTBEAT,
            interval_s=interval,
            grace_s=120,
            state=state,
            last_ping_at=now - pinged,
            last_checked_at=now - pinged,
            last_detail="job reported failure" if state == State.DOWN else "job reported success",
        )
    for slug, version, ago, verdict, numbers in [
        ("checkout-api", "2026.11.24-1", timedelta(days=2, hours=3), Verdict.IMPROVED,
         (142.0, 118.0, 260.0, 190.0)),
        ("checkout-api", "2026.11.20-2", timedelta(days=6), Verdict.UNCHANGED,
         (140.0, 142.0, 250.0, 260.0)),
        ("storefront", "2026.11.26-1", timedelta(hours=5), Verdict.REGRESSED,
         (150.0, 236.0, 290.0, 540.0)),
        ("sign-in", "4.12.0", timedelta(minutes=50), None, None),
    ]:  # fmt: skip
        deployment = Deployment.objects.create(
            service=made[slug],
            version=version,
            ref=version.replace(".", "")[:8],
            deployed_at=now - ago,
            deployed_by="ci-pipeline",
            reason="Cache product lookups",
            expected_metric="p95 latency",
        )
        if verdict:
            before_p50, after_p50, before_p95, after_p95 = numbers
            DeploymentImpact.objects.create(
                deployment=deployment,
                window_s=1800,
                computed_at=deployment.deployed_at + timedelta(minutes=30),
                before_count=30,
                after_count=30,
                before_p50_ms=before_p50,
                after_p50_ms=after_p50,
                before_p95_ms=before_p95,
                after_p95_ms=after_p95,
                before_uptime_pct=100.0,
                after_uptime_pct=100.0,
                verdict=verdict,
                reason="p95 compared over 30 minutes before and after",
            )
    check = Check.objects.get(service=made["checkout-api"], kind=Kind.HTTP)
    Transition.objects.bulk_create(
        Transition(check_ref=check, from_state=before, to_state=after, at=now - ago, reason=why)
        for before, after, ago, why in [
            (State.DEGRADED, State.UP, timedelta(hours=26), "1 success(es) in a row"),
            (State.UP, State.DEGRADED, timedelta(hours=27), "slower than 300 ms: 412 ms"),
            (State.DOWN, State.UP, timedelta(days=3), "1 success(es) in a row"),
            (State.UP, State.DOWN, timedelta(days=3, minutes=4), "2 failure(s) in a row: timeout"),
        ]
    )
    window = Maintenance.objects.create(
        title="Mail relay upgrade",
        status=MaintenanceStatus.IN_PROGRESS,
        scheduled_for=now - timedelta(minutes=20),
        scheduled_until=now + timedelta(hours=1),
    )
    window.services.add(made["email-sender"])
    OwnerNote.objects.filter(service=made["sign-in"]).update(
        expected_result="GET /ready returns 200 within 150 ms.",
        rollback_note="Roll back to 4.11.3: `make deploy TAG=4.11.3`; sessions survive.",
        runbook="1. Check the identity provider status page.\n2. **Roll back** if 4.12.0 is live.",
        links="Dashboard https://grafana.example.com/d/sign-in",
    )
    return made


@pytest.fixture(autouse=True)
def _static_names_the_live_server_knows(settings):
    """live_server serves /static/ through the finders, which know css/app.css but not the
    hashed names the production storage writes into pages (those exist in STATIC_ROOT only):
    without this the browser would get neither the styles nor htmx."""
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": plain}


@pytest.fixture
def desktop(page):
    page.set_viewport_size({"width": 1280, "height": 900})
    return page


def status_of(page, name: str) -> str:
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=re.compile(name)))
    return row.locator(".status-cell").inner_text().strip()


def test_reads_filters_and_opens_a_service(
    desktop, live_server, sign_in, axe_serious, screenshot, console_errors
):
    page = desktop
    seed()
    sign_in(page, make_user("vic"))

    expect(page.get_by_role("heading", level=1)).to_have_text("Services")
    assert page.locator("table.services tbody th[scope=row] a").all_inner_texts() == [
        "Sign In", "Payment Webhooks", "User Profile", "Recommendations", "Email Sender",
        "Checkout Api", "Storefront", "Inventory", "Search Api", "Search Indexer",
        "Nightly Export", "Reports",
    ]  # fmt: skip
    assert status_of(page, "Sign In") == "Major outage"
    assert status_of(page, "Payment Webhooks") == "Partial outage"
    assert status_of(page, "Email Sender") == "Maintenance"
    assert status_of(page, "Reports") == "Paused"
    assert "1 failing" in page.get_by_role("row", name=re.compile("Payment Webhooks")).inner_text()
    assert "1 late" in page.get_by_role("row", name=re.compile("Search Indexer")).inner_text()
    storefront = page.get_by_role("row", name=re.compile("Storefront")).inner_text()
    assert "Regressed" in storefront and "p95 290 ms → 540 ms" in storefront
    summary = " ".join(page.locator("ul.summary").inner_text().split())
    assert summary == (
        "12 services Major outage 1 Partial outage 1 Degraded 1 Unknown 1 Maintenance 1 "
        "Operational 6 Paused 1"
    )
    screenshot(page, "team-page")
    assert axe_serious(page) == []

    page.get_by_label("Status").select_option("degraded")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"status=degraded"))
    assert page.locator("table.services tbody th a").all_inner_texts() == ["User Profile"]
    page.get_by_label("Search").fill("check")
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"q=check"))
    assert page.locator("table.services tbody th a").all_inner_texts() == ["Checkout Api"]

    console_errors.clear()  # each page is checked on its own below
    page.get_by_role("link", name="Checkout Api", exact=True).click()
    page.wait_for_url(f"{live_server.url}/services/checkout-api/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout Api")
    chart = page.locator("svg.chart").first
    expect(chart).to_be_visible()
    assert chart.locator("path.line-p50").get_attribute("d").count("L") > 100
    marker = chart.locator("a.marker")
    assert marker.count() == 2
    label = marker.first.get_attribute("aria-label")
    assert label.startswith("Deployment 2026.11.24-1 at ")
    assert "p50 142 ms to 118 ms, p95 260 ms to 190 ms; improved" in label
    expect(page.locator("svg.day-bar rect")).to_have_count(90)
    screenshot(page, "service-page")
    assert axe_serious(page) == []

    page.goto(f"{live_server.url}/services/sign-in/")
    notes = page.locator("#notes")
    expect(notes).to_contain_text("Roll back to 4.11.3")
    assert notes.bounding_box()["y"] < page.locator("#checks-heading").bounding_box()["y"]
    assert axe_serious(page) == []
    assert console_errors == []


def test_owner_notes_edited_in_the_admin_show_on_the_service_page(
    desktop, live_server, sign_in, console_errors
):
    page = desktop
    service = make_service("checkout-api", team=make_team("payments"))
    sign_in(page, make_user("root", superuser=True), next_path="/admin/")

    page.goto(f"{live_server.url}/admin/catalog/service/{service.pk}/change/")
    page.locator("#id_owner_note-0-rollback_note").fill("Flip the feature flag checkout.v2 off.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    console_errors.clear()
    page.goto(f"{live_server.url}/services/checkout-api/")
    expect(page.locator("#rollback-note")).to_have_text("Flip the feature flag checkout.v2 off.")
    assert console_errors == []  # the admin's own pages are not ours to check
    page.get_by_role("link", name="Edit history of the notes").click()
    expect(page.locator("#content")).to_contain_text("Edit history of the owner notes")


def test_the_page_refreshes_itself_when_a_check_changes_state(
    desktop, live_server, sign_in, console_errors
):
    page = desktop
    services = seed()
    sign_in(page, make_user("vic"))
    assert status_of(page, "Checkout Api") == "Operational"
    page.evaluate("window.notReloaded = true")
    page.focus("#svc-checkout-api")

    check = Check.objects.get(service=services["checkout-api"], kind=Kind.HTTP)
    slot = int(timezone.now().timestamp())
    results_record(
        observations=[
            Observation(check.pk, slot + n, slot + n, Outcome.DOWN, None, None, "timeout")
            for n in range(2)
        ]
    )

    expect(
        page.get_by_role("row", name=re.compile("Checkout Api")).locator(".status-cell")
    ).to_have_text("Major outage", timeout=20_000)
    assert page.evaluate("window.notReloaded") is True
    # The row moved up with its new status; the keyboard focus moved with it.
    assert page.evaluate("document.activeElement.id") == "svc-checkout-api"
    assert "Major outage 2" in " ".join(page.locator("ul.summary").inner_text().split())
    assert console_errors == []


def test_everything_is_reachable_by_keyboard(desktop, live_server, sign_in):
    page = desktop
    seed()
    sign_in(page, make_user("vic"))

    reached = []
    for _ in range(150):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                "() => { const e = document.activeElement;"
                " return (e.id || e.getAttribute('href') || e.textContent || '').trim(); }"
            )
        )
        if reached[-1] == "notes-reports":  # the last row's last link
            break
    assert reached[0] == "#main"  # the skip link comes first
    for control in ("id_q", "id_team", "id_status", "id_tier", "Filter"):
        assert control in reached
    links = [r for r in reached if r.startswith("svc-")]
    assert len(links) == len(SERVICES)
    # The refresh region: its status links and the pause control, before the rows.
    assert "count-major_outage" in reached
    assert reached.index("id_tier") < reached.index("refresh-control") < reached.index(links[0])

    page.goto(f"{live_server.url}/services/checkout-api/")
    focused = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("() => document.activeElement.getAttribute('class') || ''"))
        if "marker" in focused[-1]:
            break
    assert "marker" in focused[-1]
