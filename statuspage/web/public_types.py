"""The shapes of what is public: frozen dataclasses the public page, its JSON, feeds and
badges are built from, with the display words of every status and impact value."""

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from django.utils.safestring import SafeString

from checks.status import ComponentStatus
from statuspage.core.markdown import render_markdown
from statuspage.incidents.models import Impact, IncidentStatus, MaintenanceStatus
from statuspage.web.public_days import DayCell
from statuspage.web.public_overall import Overall
from statuspage.web.public_rows import RESOLVED

# Display words of every status and impact value (the models' choice labels).
LABELS = {
    **dict(IncidentStatus.choices),
    **dict(MaintenanceStatus.choices),
    **dict(ComponentStatus.choices),
}
IMPACT_LABELS = {**dict(Impact.choices), "none": "No impact"}


@lru_cache(maxsize=1024)
def markdown_html(text: str) -> SafeString:
    """Sanitized HTML of an update's Markdown, kept per text: one page shows the same
    updates render after render, and Markdown is the slowest part of a render."""
    return render_markdown(text)


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class PageInfo:
    id: str
    name: str
    url: str
    time_zone: str
    updated_at: datetime
    logo_url: str
    support_url: str
    links: tuple[Link, ...]


@dataclass(frozen=True)
class Component:
    id: int
    slug: str
    name: str
    description: str
    group: str
    position: int
    status: str
    created_at: datetime
    updated_at: datetime
    uptime: float | None  # over the uptime window; None without data or without days
    days: tuple[DayCell, ...]

    @property
    def status_label(self) -> str:
        return LABELS[self.status]


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    position: int
    status: str
    components: tuple[Component, ...]

    @property
    def status_label(self) -> str:
        return LABELS[self.status]


@dataclass(frozen=True)
class Affected:
    component_id: int
    name: str
    status: str

    @property
    def status_label(self) -> str:
        return LABELS[self.status]


@dataclass(frozen=True)
class Update:
    id: int
    status: str
    body: str
    created_at: datetime

    @property
    def status_label(self) -> str:
        return LABELS.get(self.status, self.status)

    @property
    def body_html(self) -> SafeString:
        return markdown_html(self.body)


@dataclass(frozen=True)
class PublicIncident:
    id: int
    name: str
    status: str
    impact: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    postmortem: str
    updates: tuple[Update, ...]  # newest first
    affected: tuple[Affected, ...]

    @property
    def is_resolved(self) -> bool:
        return self.status in RESOLVED

    @property
    def status_label(self) -> str:
        return LABELS[self.status]

    @property
    def impact_label(self) -> str:
        return IMPACT_LABELS[self.impact]

    @property
    def postmortem_html(self) -> SafeString:
        return markdown_html(self.postmortem)


@dataclass(frozen=True)
class PublicMaintenance:
    id: int
    name: str
    status: str  # as it stands now: a window past its start with auto_start is in_progress
    created_at: datetime
    updated_at: datetime
    scheduled_for: datetime
    scheduled_until: datetime
    started_at: datetime | None
    completed_at: datetime | None
    updates: tuple[Update, ...]
    affected: tuple[Affected, ...]

    @property
    def status_label(self) -> str:
        return LABELS[self.status]


@dataclass(frozen=True)
class HistoryDay:
    day: date
    incidents: tuple[PublicIncident, ...]


@dataclass(frozen=True)
class PublicSummary:
    page: PageInfo
    overall: Overall
    layout: tuple[Group | Component, ...]  # display order: groups and ungrouped components
    components: tuple[Component, ...]  # flat, in display order
    groups: tuple[Group, ...]
    active_incidents: tuple[PublicIncident, ...]
    active_maintenances: tuple[PublicMaintenance, ...]
    upcoming_maintenances: tuple[PublicMaintenance, ...]
    history: tuple[HistoryDay, ...]  # newest day first; empty without history
    generated_at: datetime


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    incidents: tuple[PublicIncident, ...]
    maintenances: tuple[PublicMaintenance, ...]
    previous: date | None  # first day of the previous month with anything to show
    next: date | None


@dataclass(frozen=True)
class Badge:
    name: str
    status: str
    uptime_30d: float | None
