"""Migration 0009: zero failure/success counts, which the state machine read as 1, become 1."""

import importlib

import pytest
from django.apps import apps as django_apps

from checks.models import Check
from tests.checks.factories import make_check


@pytest.mark.django_db
def test_zero_counts_become_one_and_other_counts_stay(service) -> None:
    zero = make_check(service, name="zero")
    kept = make_check(service, name="kept", failures_before_down=3, successes_before_up=2)
    Check.objects.filter(pk=zero.pk).update(failures_before_down=0, successes_before_up=0)

    migration = importlib.import_module("checks.migrations.0009_counts_at_least_one")
    migration.zero_counts_to_one(django_apps, None)

    assert Check.objects.filter(pk=zero.pk).values_list(
        "failures_before_down", "successes_before_up"
    ).get() == (1, 1)
    assert Check.objects.filter(pk=kept.pk).values_list(
        "failures_before_down", "successes_before_up"
    ).get() == (3, 2)
