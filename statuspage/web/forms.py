"""Forms of the team pages: the team page filters and the account settings."""

import zoneinfo
from dataclasses import dataclass
from functools import cache

from django import forms

from statuspage.accounts.models import User
from statuspage.catalog.models import Tier
from statuspage.web.selectors_common import STATUS_LABELS
from statuspage.web.team_selectors import TeamOption, TeamPageFilters


@dataclass(frozen=True)
class SelectField:
    name: str
    label: str
    choices: list[tuple[str, str]]
    value: str


class TeamFilterForm(forms.Form):
    """The team page filters: a GET form, so every filter lives in the URL."""

    team = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *STATUS_LABELS.items()])
    tier = forms.ChoiceField(required=False, choices=[("", "Any tier"), *Tier.choices])
    q = forms.CharField(required=False, max_length=100, strip=True, label="Search")

    def __init__(self, data, *, teams: list[TeamOption]) -> None:
        super().__init__(data)
        self.fields["team"].choices = [("", "All teams"), *((t.slug, t.name) for t in teams)]

    @property
    def choice_fields(self) -> list[SelectField]:
        """The three selects, for a template that writes their options itself (Django's
        widget templates cost milliseconds for a list of teams)."""
        filters = self.filters()
        return [
            SelectField(
                name,
                self.fields[name].label or name.title(),
                self.fields[name].choices,
                getattr(filters, name),
            )
            for name in ("team", "status", "tier")
        ]

    def filters(self) -> TeamPageFilters:
        """The valid filters; a value that is not a choice (a stale link) is ignored."""
        self.is_valid()
        cleaned = {name: self.cleaned_data.get(name) or "" for name in self.fields}
        return TeamPageFilters(**cleaned)


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    zones = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
    return [(zone, zone.replace("_", " ")) for zone in zones]


class AccountForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        help_text="Times on the team pages are shown in this zone.",
    )

    class Meta:
        model = User
        fields = ["time_zone"]
