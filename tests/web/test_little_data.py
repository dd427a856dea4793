"""Charts and sparklines with little or no data, and runbook Markdown as owners write it:
numbered steps with code blocks inside, headings under the page's own."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from statuspage.catalog.models import OwnerNote
from statuspage.core.markdown import render_markdown
from statuspage.web import charts

START = datetime(2026, 11, 19, 13, tzinfo=UTC)
FRAME = charts.Frame(start=START, end=START + timedelta(days=7))
HOUR = timedelta(hours=1)

RUNBOOK = """# Restarting the service

1. Check the dashboard.
2. Restart the workers:

    ```sh
    make restart
    kubectl rollout status deploy/checkout
    ```

3. Roll back if the errors stay.
"""


def tick_labels(svg: str) -> list[str]:
    return re.findall(r'class="tick-label"[^>]*>([^<]*)<', svg)


def test_a_latency_chart_without_data_has_a_readable_axis_and_says_so():
    svg = charts.latency_chart([], frame=FRAME, bucket=HOUR, title="Latency")

    labels = tick_labels(svg)[:5]
    assert labels == ["0", "5 ms", "10 ms", "15 ms", "20 ms"]
    assert "&lt;1 ms" not in svg
    assert "No latency recorded in this period" in svg


def test_a_single_hour_of_latency_is_drawn_as_a_dot():
    point = charts.SeriesPoint(START + 5 * HOUR, 4.0, 6.0, 100.0)

    svg = charts.latency_chart([point], frame=FRAME, bucket=HOUR, title="Latency")

    assert re.search(r'<circle class="dot-p50" cx="[\d.]+" cy="[\d.]+" r="3"/>', svg)
    assert re.search(r'<circle class="dot-p95" ', svg)
    assert "No latency recorded" not in svg


def test_an_uptime_chart_without_data_says_so():
    svg = charts.uptime_chart(
        [], frame=FRAME, bucket=HOUR, title="Uptime", summary="— up", label_format="%H"
    )

    assert "No results in this period" in svg


def test_a_sparkline_needs_two_hours_of_data():
    assert charts.sparkline([None] * 23 + [120.0], label="latency") == ""
    assert "spark-line" in charts.sparkline([None] * 22 + [110.0, 120.0], label="latency")


def test_a_code_block_inside_a_numbered_step_stays_in_the_step():
    html = render_markdown(RUNBOOK)

    assert html.count("<ol>") == 1
    step = re.search(r"<li>\s*<p>Restart the workers:</p>(.*?)</li>", html, re.S).group(1)
    assert "<pre><code>make restart\nkubectl rollout status deploy/checkout\n</code></pre>" in step
    assert re.search(r"<li>\s*<p>Roll back if the errors stay.</p>\s*</li>\s*</ol>", html)


def test_a_list_broken_by_a_block_keeps_its_numbering():
    html = render_markdown("1. One\n2. Two\n\n```\ncode\n```\n\n3. Three\n")

    assert '<ol start="3">' in html


@pytest.mark.django_db
def test_runbook_headings_sit_below_the_owner_notes_heading(client, viewer, service):
    OwnerNote.objects.filter(service=service).update(runbook=RUNBOOK)
    client.force_login(viewer)

    html = client.get("/services/checkout-api/").content.decode()

    notes = html[html.index('id="notes-heading"') :]
    assert "<h3>Restarting the service</h3>" in notes
    assert "<h1>Restarting" not in html
    assert "<pre><code>make restart" in notes
