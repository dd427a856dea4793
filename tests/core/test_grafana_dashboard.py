"""docs/grafana-dashboard.json: importable, and it asks only for what /metrics exports."""

import json
import re
from pathlib import Path

import pytest
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families

from statuspage.core.metrics import ping_count, schedule_lag_observe

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
TOKEN = "scrape-token-0123456789"
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def test_asks_for_a_prometheus_data_source_on_import():
    board = dashboard()
    assert [entry["name"] for entry in board["__inputs"]] == ["DS_PROMETHEUS"]
    assert board["__inputs"][0]["pluginId"] == "prometheus"
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert all(t["datasource"]["uid"] == "${DS_PROMETHEUS}" for t in panel["targets"])
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))


@pytest.mark.django_db
@override_settings(METRICS_TOKEN=TOKEN)
def test_every_metric_a_panel_queries_is_exported(client):
    # Counted once here, so the families of both are in this scrape whatever ran before.
    schedule_lag_observe([0.1])
    ping_count(kind="success", code=200)
    body = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    exported = {family.name for family in text_string_to_metric_families(body)}
    queried = set()
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            queried |= set(re.findall(r"\bstatuspage_[a-z_]+", target["expr"]))
    bare = {next((n[: -len(s)] for s in SUFFIXES if n.endswith(s)), n) for n in queried}
    assert bare - exported == set()
