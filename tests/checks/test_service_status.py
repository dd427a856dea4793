import pytest

from checks.models import Check, State
from checks.selectors import check_states_by_service
from checks.status import COMPONENT, ComponentStatus, ServiceStatus, service_status
from tests.checks.factories import make_check

UP, DEGRADED, DOWN, UNKNOWN, PAUSED = "up", "degraded", "down", "unknown", "paused"


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([UP, UP], ServiceStatus.OPERATIONAL),
        ([UP, DEGRADED], ServiceStatus.DEGRADED),
        ([UP, DOWN], ServiceStatus.PARTIAL_OUTAGE),
        ([DEGRADED, DOWN], ServiceStatus.PARTIAL_OUTAGE),
        ([DOWN, DOWN], ServiceStatus.MAJOR_OUTAGE),
        ([DOWN, UNKNOWN], ServiceStatus.MAJOR_OUTAGE),
        ([UP, PAUSED], ServiceStatus.OPERATIONAL),
        ([UNKNOWN], ServiceStatus.UNKNOWN),
        ([], ServiceStatus.UNKNOWN),
    ],
)
def test_service_status_is_derived_from_its_checks(states, expected):
    assert service_status(states) == expected


def test_maintenance_then_pause_win_over_check_states():
    assert service_status([DOWN], in_maintenance=True) == ServiceStatus.MAINTENANCE
    assert service_status([DOWN], paused=True) == ServiceStatus.PAUSED


def test_every_status_maps_to_a_standard_component_status():
    assert set(COMPONENT) == set(ServiceStatus)
    assert COMPONENT[ServiceStatus.MAJOR_OUTAGE] == ComponentStatus.MAJOR_OUTAGE
    assert COMPONENT[ServiceStatus.MAINTENANCE] == "under_maintenance"
    assert {c.value for c in ComponentStatus} == {
        "operational", "degraded_performance", "partial_outage", "major_outage",
        "under_maintenance",
    }  # fmt: skip


@pytest.mark.django_db
def test_states_by_service_come_from_one_query(service, other_service, django_assert_num_queries):
    make_check(service, "a")
    make_check(service, "b", is_paused=True)
    make_check(other_service, "c", is_enabled=False)
    Check.objects.filter(name="a").update(state=State.DOWN)
    with django_assert_num_queries(1):
        states = check_states_by_service()
    assert states == {service.pk: [State.DOWN, State.PAUSED]}
    assert service_status(states[service.pk]) == ServiceStatus.MAJOR_OUTAGE
