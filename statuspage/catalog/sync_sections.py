"""The extension point of ``sync_catalog``: sections under a service, owned by other apps.

The catalog sits below the apps that build on it (the check engine depends on the catalog,
never the reverse), so a section such as a service's ``checks:`` cannot be imported here.
Instead the owning app registers a handler when Django starts, in its ``AppConfig.ready``::

    from statuspage.catalog.sync_sections import register_service_section
    register_service_section(ChecksSection())

From then on the registered key is a valid field of every service in the file, and
``sync_catalog`` runs the handler at each stage, always inside the command's transaction:

1. reading: the key is read with the handler's ``field`` (a schema table, like the
   catalog's own), so type errors and unknown keys come with their line;
2. ``validate``: every section of the file at once, against the database if it needs to;
   the problems join the catalog's, and nothing is written when there is any;
3. ``plan``: the changes per object and field, and how many objects the file leaves alone;
4. ``apply``: the writes of one service's section, through the owning app's services,
   after the service itself was written.

A file that never uses a section's key leaves that section out of the summary entirely.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from statuspage.catalog.models import Service
from statuspage.catalog.sync_schema import Field, Problem, Ref


@dataclass(frozen=True)
class Section:
    """A registered section as written under one service of the file."""

    service: Ref | None  # the service's slug; None when the file gives no valid slug
    value: Any  # what the handler's field read, e.g. a list of Refs of Records


@dataclass(frozen=True)
class Change:
    kind: str  # "team", "service", "owner notes" or a section's noun such as "check"
    slug: str  # what names the object: a slug, or "service-slug/name" in a section
    action: str  # "create", "update" or "unchanged"
    fields: dict[str, tuple[Any, Any]]  # name -> (before, after); before is None on create


@dataclass(frozen=True)
class SectionPlan:
    changes: list[Change]
    unmentioned: int  # objects of this kind in the database that the file does not name


class SectionHandler(Protocol):
    key: str  # the key under a service, e.g. "checks"
    noun: str  # one object of the section, e.g. "check"; the summary adds an "s"
    field: Field  # how the value under the key is read

    def validate(self, sections: list[Section]) -> list[Problem]:
        """Every problem of the section in the whole file, beyond what ``field`` checks."""
        ...

    def plan(self, sections: list[Section]) -> SectionPlan:
        """What applying the (valid) sections would change; reads, never writes."""
        ...

    def apply(self, *, service: Service, value: Any, reason: str) -> list[str]:
        """Write one service's section; one action ("create", "update", "unchanged") per
        object. Raises CatalogError, naming the object's line, when a write is refused."""
        ...


SERVICE_SECTIONS: dict[str, SectionHandler] = {}
# Sections under a team (a team's notification channels), registered the same way; their
# Section.service holds the team's slug and their ``apply`` takes ``team=`` instead.
TEAM_SECTIONS: dict[str, SectionHandler] = {}


def section_handler(key: str) -> SectionHandler:
    return SERVICE_SECTIONS[key] if key in SERVICE_SECTIONS else TEAM_SECTIONS[key]


def register_service_section(handler: SectionHandler) -> None:
    """Make ``handler.key`` a section of every service; call it from ``AppConfig.ready``.

    Registering the same handler class again (a second ``ready``) replaces it; another
    handler for a key that is taken is a programming error.
    """
    current = SERVICE_SECTIONS.get(handler.key)
    if current is not None and type(current) is not type(handler):
        raise ValueError(f"service section {handler.key!r} is already registered by {current!r}")
    SERVICE_SECTIONS[handler.key] = handler


def register_team_section(handler: SectionHandler) -> None:
    """Make ``handler.key`` a section of every team; call it from ``AppConfig.ready``."""
    current = TEAM_SECTIONS.get(handler.key)
    if current is not None and type(current) is not type(handler):
        raise ValueError(f"team section {handler.key!r} is already registered by {current!r}")
    TEAM_SECTIONS[handler.key] = handler
