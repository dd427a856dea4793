import pytest

from checks.models import Outcome
from checks.services import Observation, results_record
from statuspage.core.status_version import status_version, status_version_bump
from tests.checks.factories import make_check


@pytest.mark.django_db(transaction=True)
def test_version_is_stable_until_bumped():
    first = status_version()
    assert status_version() == first
    status_version_bump()  # outside a transaction: at once
    assert status_version() == first + 1


@pytest.mark.django_db
def test_a_bump_inside_a_transaction_waits_for_the_commit(django_capture_on_commit_callbacks):
    before = status_version()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        status_version_bump()
    assert status_version() == before
    callbacks[0]()
    assert status_version() == before + 1


@pytest.mark.django_db
def test_a_check_transition_bumps_the_version_and_a_plain_result_does_not(
    service, django_capture_on_commit_callbacks
):
    check = make_check(service, failures_before_down=1)
    before = status_version()
    with django_capture_on_commit_callbacks(execute=True):
        results_record(observations=[Observation(check.pk, 100, 100.1, Outcome.UP)])
    assert status_version() == before + 1  # unknown -> up
    with django_capture_on_commit_callbacks(execute=True):
        results_record(observations=[Observation(check.pk, 160, 160.1, Outcome.UP)])
    assert status_version() == before + 1
