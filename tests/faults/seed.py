"""Migrate the stack's database and create the fault suite's checks (run with the stack's env).

python tests/faults/seed.py TARGET_PORT COUNT INTERVAL_S
"""

import sys

import django


def main() -> None:
    django.setup()
    from django.core.management import call_command

    from checks.models import Check, Kind
    from checks.scheduling import check_schedule_reset
    from statuspage.catalog.models import Service, Team

    call_command("migrate", verbosity=0)
    port, count, interval = (int(a) for a in sys.argv[1:4])
    team = Team.objects.create(slug="faults", name="Faults")
    service = Service.objects.create(slug="faults-target", name="Fault target", team=team)
    checks = Check.objects.bulk_create(
        Check(
            service=service,
            name=f"fault-{i:04d}",
            kind=Kind.HTTP,
            config={"url": f"http://127.0.0.1:{port}/health/{i}"},
            interval_s=interval,
            timeout_s=3,
        )
        for i in range(count)
    )
    for check in checks:
        check_schedule_reset(check=check)
    Check.objects.bulk_update(checks, ["next_due_at"])


if __name__ == "__main__":
    main()
