"""Which channels hear of an event."""

import pytest

from statuspage.alerts.models import EventKind, ServiceChannel
from statuspage.alerts.routing import channels_for, channels_for_services
from statuspage.catalog.models import Tier
from tests.alerts.eventkit import make_channel
from tests.factories import make_service

pytestmark = pytest.mark.django_db


def names(channels) -> list[str]:
    return [c.name for c in channels]


def test_a_service_alerts_go_to_its_team_enabled_channels(service, team, other_team):
    make_channel(team, "oncall")
    make_channel(team, "old", enabled=False)
    make_channel(other_team, "theirs")
    assert names(channels_for(service=service, kind=EventKind.DOWN)) == ["oncall"]


def test_escalation_channels_hear_only_escalations(service, team):
    make_channel(team, "oncall")
    make_channel(team, "pager", escalation=True)
    assert names(channels_for(service=service, kind=EventKind.DOWN)) == ["oncall"]
    assert names(channels_for(service=service, kind=EventKind.ESCALATION)) == ["pager"]


def test_each_channel_filters_by_event_kind(service, team):
    make_channel(team, "outages", events=[EventKind.DOWN, EventKind.UP])
    make_channel(team, "deploys", events=[EventKind.DEPLOY_REGRESSED])
    make_channel(team, "everything", events=[])
    assert names(channels_for(service=service, kind=EventKind.DOWN)) == ["outages", "everything"]
    assert names(channels_for(service=service, kind=EventKind.DEPLOY_REGRESSED)) == [
        "deploys",
        "everything",
    ]


def test_flapping_and_reminders_reach_channels_that_want_outages(service, team):
    make_channel(team, "outages", events=[EventKind.DOWN])
    make_channel(team, "deploys", events=[EventKind.DEPLOY_REGRESSED])
    assert names(channels_for(service=service, kind=EventKind.FLAPPING)) == ["outages"]
    assert names(channels_for(service=service, kind=EventKind.REMINDER)) == ["outages"]
    assert names(channels_for(service=service, kind=EventKind.TEST)) == ["outages", "deploys"]


def test_a_minimum_tier_keeps_less_critical_services_out(team):
    make_channel(team, "critical-only", min_tier=Tier.CRITICAL)
    make_channel(team, "high-and-up", min_tier=Tier.HIGH)
    make_channel(team, "all", min_tier=Tier.LOW)
    critical = make_service("payments-core", team=team, tier=Tier.CRITICAL)
    high = make_service("checkout-web", team=team, tier=Tier.HIGH)
    low = make_service("reports", team=team, tier=Tier.LOW)
    assert names(channels_for(service=critical, kind=EventKind.DOWN)) == [
        "critical-only",
        "high-and-up",
        "all",
    ]
    assert names(channels_for(service=high, kind=EventKind.DOWN)) == ["high-and-up", "all"]
    assert names(channels_for(service=low, kind=EventKind.DOWN)) == ["all"]


def test_a_service_may_add_a_channel_to_its_team_ones(service, team, other_team):
    make_channel(team, "oncall")
    extra = make_channel(other_team, "shared-ops")
    ServiceChannel.objects.create(service=service, channel=extra)
    assert sorted(names(channels_for(service=service, kind=EventKind.DOWN))) == [
        "oncall",
        "shared-ops",
    ]


def test_a_service_may_replace_its_team_channels(service, team):
    make_channel(team, "oncall")
    own = make_channel(team, "checkout-only")
    ServiceChannel.objects.create(service=service, channel=own, replace=True)
    assert names(channels_for(service=service, kind=EventKind.DOWN)) == ["checkout-only"]
    other = make_service("cart", team=team)
    assert sorted(names(channels_for(service=other, kind=EventKind.DOWN))) == [
        "checkout-only",
        "oncall",
    ]


def test_an_added_channel_still_obeys_its_filters(service, team):
    quiet = make_channel(team, "deploys-only", events=[EventKind.DEPLOY_REGRESSED])
    ServiceChannel.objects.create(service=service, channel=quiet, replace=True)
    assert channels_for(service=service, kind=EventKind.DOWN) == []


def test_several_services_reach_each_channel_once(team, other_team):
    make_channel(team, "oncall")
    make_channel(other_team, "search-oncall")
    services = [
        make_service("a-api", team=team),
        make_service("b-api", team=team),
        make_service("c-api", team=other_team),
    ]
    found = channels_for_services(services=services, kind=EventKind.INCIDENT_PUBLISHED)
    assert names(found) == ["oncall", "search-oncall"]
