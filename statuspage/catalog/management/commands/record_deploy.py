from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from statuspage.catalog.models import DeploymentSource, Service
from statuspage.catalog.services import deployment_record


def _parse_when(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--at {value!r} is not an ISO 8601 time (e.g. 2026-11-26T14:05:00+00:00)"
        ) from None
    if timezone.is_naive(when):
        raise CommandError(f"--at {value!r} has no time zone offset (add +00:00 or Z)")
    return when


class Command(BaseCommand):
    help = "Record a deployment of a service, with its change note."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("service", help="Service slug.")
        parser.add_argument("version", help="Version or release name, e.g. 2026.11.26-1.")
        parser.add_argument("--ref", default="", help="Commit SHA or tag.")
        parser.add_argument("--by", required=True, help="Who or which pipeline deployed.")
        parser.add_argument("--at", help="When (ISO 8601 with offset); default: now.")
        parser.add_argument("--reason", default="", help="Why this change was made.")
        parser.add_argument("--files", default="", help="Files touched (free text or a list).")
        parser.add_argument("--command", dest="deploy_command", default="", help="Command used.")
        parser.add_argument("--expect", default="", help="The metric expected to move.")

    def handle(self, *args, **opts) -> None:
        service = Service.objects.filter(slug=opts["service"]).first()
        if service is None:
            raise CommandError(f"unknown service {opts['service']!r} (use its slug)")
        try:
            deployment = deployment_record(
                service=service,
                version=opts["version"],
                ref=opts["ref"],
                deployed_by=opts["by"],
                deployed_at=_parse_when(opts["at"]) if opts["at"] else None,
                reason=opts["reason"],
                files_touched=opts["files"],
                command=opts["deploy_command"],
                expected_metric=opts["expect"],
                source=DeploymentSource.COMMAND,
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()
            )
            raise CommandError(f"deployment not recorded: {problems}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Recorded deployment #{deployment.pk}: {service.slug} {deployment.version} "
                f"at {deployment.deployed_at.isoformat()} by {deployment.deployed_by}"
            )
        )
