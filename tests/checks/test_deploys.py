"""Deployment verdicts: real probes of a local server before and after a deployment.

The server's latency and status are set between the two sides; the probes run through the
engine's own batch runner with the clock placed at each slot, so every latency stored is
that of a real request to 127.0.0.1.
"""

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from aiohttp import web

from checks.deploys import (
    Figures,
    deployment_ids_due,
    deployment_impact_compute,
    deployment_judge,
    deployments_judge_due,
    figures_of,
    verdict_for,
)
from checks.models import Check, DeploymentImpact, Outcome, Result, Verdict
from checks.runner import probe_batch_run
from checks.scheduling import Claim, as_datetime
from checks.tasks import deployment_verdicts
from statuspage.catalog.models import Deployment, DeploymentSource
from statuspage.catalog.services import deployment_record
from tests.checks.factories import make_check
from tests.checks.probe_servers import serving_app

DEPLOYED_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
INTERVAL_S = 30
WINDOW_S = 600  # 20 slots of 30 s on each side


@dataclass
class Behaviour:
    delay_ms: float = 0.0
    status: int = 200


@pytest.fixture
def target() -> Iterator[tuple[int, Behaviour]]:
    behaviour = Behaviour()

    async def health(request: web.Request) -> web.Response:
        if behaviour.delay_ms:
            await asyncio.sleep(behaviour.delay_ms / 1000)
        return web.json_response({"ok": behaviour.status == 200}, status=behaviour.status)

    app = web.Application()
    app.router.add_get("/health", health)
    with serving_app(app) as port:
        yield port, behaviour


@pytest.fixture
def check(service, target) -> Check:
    port, _ = target
    return make_check(
        service, interval_s=INTERVAL_S, config={"url": f"http://127.0.0.1:{port}/health"}
    )


def slots(start: datetime, count: int) -> list[datetime]:
    """``count`` slot times from ``start`` at the check's interval, mid-interval aligned."""
    return [start + timedelta(seconds=INTERVAL_S * i + INTERVAL_S // 2) for i in range(count)]


def probe_at(check: Check, moments: list[datetime]) -> None:
    """Probe the real target once per moment, with the clock (checked_at) at that moment."""
    for moment in moments:
        with time_machine.travel(moment, tick=True):
            report = probe_batch_run(claims=[Claim(check.pk, int(moment.timestamp()))])
        assert report.recorded.inserted == 1


def before(count: int = 20) -> list[datetime]:
    return slots(DEPLOYED_AT - timedelta(seconds=WINDOW_S), count)


def after(count: int = 20, start: datetime = DEPLOYED_AT) -> list[datetime]:
    return slots(start, count)


def deploy(service, version: str = "v2", at: datetime = DEPLOYED_AT) -> Deployment:
    return deployment_record(
        service=service, version=version, deployed_by="ci", deployed_at=at,
        source=DeploymentSource.API,
    )  # fmt: skip


def compute(deployment: Deployment) -> DeploymentImpact:
    return deployment_impact_compute(
        deployment=deployment,
        window_s=WINDOW_S,
        now=deployment.deployed_at + timedelta(seconds=WINDOW_S + 60),
    )


# --- Verdicts from real probes ------------------------------------------------------------


@pytest.mark.django_db
def test_slower_responses_after_a_deploy_are_flagged_regressed_with_numbers(service, check, target):
    _, behaviour = target
    probe_at(check, before())
    deployment = deploy(service)
    behaviour.delay_ms = 80
    probe_at(check, after())

    impact = compute(deployment)

    assert impact.verdict == Verdict.REGRESSED
    assert (impact.before_count, impact.after_count) == (20, 20)
    assert impact.before_p95_ms + 20 < impact.after_p95_ms
    assert impact.after_p50_ms >= 80
    assert impact.after_p95_ms >= 80
    assert (impact.before_failure_pct, impact.after_failure_pct) == (0.0, 0.0)
    assert (impact.before_uptime_pct, impact.after_uptime_pct) == (100.0, 100.0)
    assert impact.reason.startswith("p95 latency ")
    assert f"-> {impact.after_p95_ms:.0f} ms (+" in impact.reason
    assert "p50 latency" in impact.reason
    assert impact.window_s == WINDOW_S
    assert DeploymentImpact.objects.get(deployment=deployment) == impact


@pytest.mark.django_db
def test_a_deploy_with_the_same_speed_is_unchanged(service, check, target):
    _, behaviour = target
    behaviour.delay_ms = 25
    probe_at(check, before())
    deployment = deploy(service)
    probe_at(check, after())

    impact = compute(deployment)

    assert impact.verdict == Verdict.UNCHANGED
    assert impact.before_p50_ms >= 25 and impact.after_p50_ms >= 25
    assert impact.reason.startswith("within thresholds: p95 latency ")
    assert "failure rate 0.0% -> 0.0%" in impact.reason


@pytest.mark.django_db
def test_a_deploy_with_too_few_results_before_says_so(service, check, target):
    probe_at(check, before(4))
    deployment = deploy(service)
    probe_at(check, after())

    impact = compute(deployment)

    assert impact.verdict == Verdict.INSUFFICIENT_DATA
    assert (impact.before_count, impact.after_count) == (4, 20)
    assert impact.reason == "too little data: 4 results before, 20 after (10 needed on each side)"
    assert impact.before_p95_ms is not None  # the numbers seen are still kept


@pytest.mark.django_db
def test_a_deploy_of_a_service_without_results_has_too_little_data(service):
    impact = compute(deploy(service))
    assert impact.verdict == Verdict.INSUFFICIENT_DATA
    assert (impact.before_count, impact.after_count) == (0, 0)
    assert impact.before_p95_ms is None and impact.after_failure_pct is None


@pytest.mark.django_db
def test_failing_responses_after_a_deploy_are_a_regression(service, check, target):
    _, behaviour = target
    probe_at(check, before())
    deployment = deploy(service)
    probe_at(check, after(15))
    behaviour.status = 503
    probe_at(check, after(5, start=DEPLOYED_AT + timedelta(seconds=15 * INTERVAL_S)))

    impact = compute(deployment)

    assert impact.verdict == Verdict.REGRESSED
    assert impact.after_failure_pct == 25.0
    assert impact.after_uptime_pct == 75.0
    # The probes time a real local server: on a loaded machine the p95 may move too and be
    # named beside the failure rate, which is the part this test is about.
    assert impact.reason.endswith("failure rate 0.0% -> 25.0% (+25.0 points)")


@pytest.mark.django_db
def test_the_next_deployment_ends_the_window_of_the_one_before(service, check, target):
    _, behaviour = target
    probe_at(check, before())
    first = deploy(service, "v2")
    probe_at(check, after(10))
    second_at = DEPLOYED_AT + timedelta(seconds=10 * INTERVAL_S)
    second = deploy(service, "v3", at=second_at)
    behaviour.delay_ms = 80
    probe_at(check, after(10, start=second_at))

    first_impact = compute(first)
    second_impact = compute(second)

    # v2 is judged only on its own 5 minutes: the slow requests belong to v3.
    assert first_impact.verdict == Verdict.UNCHANGED
    assert (first_impact.before_count, first_impact.after_count) == (20, 10)
    assert first_impact.reason.endswith("; judged up to the next deployment (v3), 5 min after")
    # v3's baseline is v2's 5 minutes, not the older version before it.
    assert second_impact.verdict == Verdict.REGRESSED
    assert (second_impact.before_count, second_impact.after_count) == (10, 10)
    assert second_impact.reason.endswith(
        "; baseline since the previous deployment (v2), 5 min before"
    )


@pytest.mark.django_db
def test_only_checks_with_results_on_both_sides_are_compared(service, check, target):
    probe_at(check, before())
    deployment = deploy(service)
    probe_at(check, after())
    added = make_check(service, "added after the deploy", config={"url": "http://127.0.0.1:9/"})
    Result.objects.bulk_create(
        Result(check_ref=added, slot=int(t.timestamp()), checked_at=t, outcome=Outcome.DOWN)
        for t in after()
    )

    impact = compute(deployment)

    assert impact.verdict == Verdict.UNCHANGED
    assert impact.after_count == 20
    assert impact.after_failure_pct == 0.0


@pytest.mark.django_db
def test_recomputing_replaces_the_impact(service, check, target):
    probe_at(check, before())
    deployment = deploy(service)
    probe_at(check, after())
    first = compute(deployment)
    second = compute(deployment)
    assert DeploymentImpact.objects.count() == 1
    assert second.pk == first.pk
    assert second.verdict == first.verdict


# --- The rule on numbers -----------------------------------------------------------------


def side(latency_ms: float, *, count: int = 30, failed: int = 0) -> Figures:
    rows = [(Outcome.DOWN, None)] * failed + [(Outcome.UP, latency_ms)] * (count - failed)
    return figures_of(rows)


def test_figures_are_exact_percentiles_of_successful_results():
    rows = [(Outcome.UP, float(ms)) for ms in range(1, 101)] + [(Outcome.DOWN, 9999.0)]
    figures = figures_of(rows)
    assert (figures.count, figures.failed, figures.latencies) == (101, 1, 100)
    assert figures.p50_ms == 50.5
    assert figures.p95_ms == 95.05
    assert round(figures.failure_pct, 2) == 0.99
    assert round(figures.uptime_pct, 2) == 99.01


def test_degraded_results_count_as_up_for_uptime():
    figures = figures_of([(Outcome.DEGRADED, 900.0), (Outcome.UP, 10.0)])
    assert (figures.uptime_pct, figures.failure_pct) == (100.0, 0.0)


@pytest.mark.parametrize(
    ("before_ms", "after_ms", "verdict"),
    [
        (100, 130, Verdict.REGRESSED),  # +30 % and +30 ms
        (30, 40, Verdict.UNCHANGED),  # +33 % but only +10 ms
        (300, 330, Verdict.UNCHANGED),  # +30 ms but only +10 %
        (100, 125, Verdict.UNCHANGED),  # exactly x1.25 is not above it
        (200, 150, Verdict.IMPROVED),  # 200 > 150 x 1.25 and -50 ms
        (40, 30, Verdict.UNCHANGED),  # -25 % but only -10 ms
    ],
)
def test_latency_rule(before_ms, after_ms, verdict):
    assert verdict_for(side(before_ms), side(after_ms))[0] == verdict


def test_regressed_reason_names_the_numbers():
    verdict, reason = verdict_for(side(210), side(480))
    assert verdict == Verdict.REGRESSED
    assert reason == "p95 latency 210 ms -> 480 ms (+129%); p50 latency 210 ms -> 480 ms (+129%)"


def test_one_failed_result_after_a_deploy_is_not_a_regression():
    assert verdict_for(side(50), side(50, failed=1))[0] == Verdict.UNCHANGED


def test_two_failed_results_after_a_deploy_are_a_regression():
    verdict, reason = verdict_for(side(50), side(50, failed=2))
    assert verdict == Verdict.REGRESSED
    assert reason == "failure rate 0.0% -> 6.7% (+6.7 points)"


def test_fewer_failures_is_an_improvement():
    verdict, reason = verdict_for(side(50, failed=3), side(50))
    assert verdict == Verdict.IMPROVED
    assert reason == "failure rate 10.0% -> 0.0% (-10.0 points)"


def test_a_regression_outweighs_an_improvement():
    verdict, reason = verdict_for(side(300, failed=0), side(100, failed=5))
    assert verdict == Verdict.REGRESSED
    assert reason.startswith("failure rate")


def test_all_down_after_a_deploy_is_a_regression_without_latencies():
    verdict, reason = verdict_for(side(50), side(50, count=20, failed=20))
    assert verdict == Verdict.REGRESSED
    assert reason == "failure rate 0.0% -> 100.0% (+100.0 points)"


def test_too_few_results_on_either_side_is_insufficient_data():
    assert verdict_for(side(50, count=9), side(50))[0] == Verdict.INSUFFICIENT_DATA
    assert verdict_for(side(50), side(50, count=9))[0] == Verdict.INSUFFICIENT_DATA
    assert verdict_for(side(50, count=10), side(50, count=10))[0] == Verdict.UNCHANGED


# --- Which deployments are due --------------------------------------------------------------


def at(minutes: int) -> datetime:
    return DEPLOYED_AT + timedelta(minutes=minutes)


@pytest.mark.django_db
def test_a_deployment_is_judged_once_its_window_has_passed(service, settings):
    settings.DEPLOY_VERDICT_WINDOW_S = 1800
    deployment = deploy(service)
    assert deployments_judge_due(now=at(29)) == 0
    assert deployments_judge_due(now=at(30)) == 1
    assert deployments_judge_due(now=at(31)) == 0
    impact = DeploymentImpact.objects.get(deployment=deployment)
    assert (impact.window_s, impact.computed_at) == (1800, at(30))


@pytest.mark.django_db
def test_finding_due_deployments_is_one_query(service, django_assert_num_queries):
    for number in range(5):
        deploy(service, f"v{number}", at=at(-60 * (number + 1)))
    judged = deploy(service, "judged", at=at(-600))
    compute(judged)
    with django_assert_num_queries(1):
        due = deployment_ids_due(now=at(0), window_s=1800)
    assert len(due) == 5
    assert judged.pk not in due


@pytest.mark.django_db
def test_judging_a_deleted_deployment_does_nothing(service):
    deployment = deploy(service)
    gone = deployment.pk
    deployment.delete()
    assert deployment_judge(deployment_id=gone, now=at(60), window_s=1800) is None
    assert not DeploymentImpact.objects.exists()


# --- The task ---------------------------------------------------------------------------------


def task_lines(caplog) -> list[str]:
    prefix = "task=checks.deployment_verdicts "
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(prefix)]


@pytest.fixture
def past_deployment(service) -> Deployment:
    return deploy(service, at=as_datetime(datetime.now(UTC).timestamp() - 7200))


@pytest.mark.django_db
def test_task_judges_due_deployments_once_when_run_twice(past_deployment, caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    assert deployment_verdicts() == 1
    assert deployment_verdicts() == 0
    lines = task_lines(caplog)
    assert "judged=1 regressed=0 skipped=0 ms=" in lines[0]
    assert "judged=0 regressed=0 skipped=0 ms=" in lines[1]
    assert past_deployment.impact.verdict == Verdict.INSUFFICIENT_DATA


@pytest.mark.django_db
def test_task_skips_a_deployment_deleted_in_between(past_deployment, caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    gone = past_deployment.pk
    past_deployment.delete()
    assert deployment_verdicts([gone]) == 0
    assert "judged=0 regressed=0 skipped=1" in task_lines(caplog)[0]
    assert not DeploymentImpact.objects.exists()


@pytest.mark.django_db
def test_task_with_ids_judges_them_again(past_deployment, caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    deployment_verdicts()
    assert deployment_verdicts([past_deployment.pk]) == 1
    assert DeploymentImpact.objects.count() == 1
    assert "judged=1 regressed=0 skipped=0" in task_lines(caplog)[1]


@pytest.mark.django_db
def test_task_counts_regressions(service, check, target, caplog):
    caplog.set_level(logging.INFO, logger="checks.tasks")
    _, behaviour = target
    probe_at(check, before())
    deploy(service)
    behaviour.status = 500
    probe_at(check, after())
    with time_machine.travel(DEPLOYED_AT + timedelta(hours=1), tick=False):
        assert deployment_verdicts() == 1
    assert "judged=1 regressed=1 skipped=0" in task_lines(caplog)[0]
