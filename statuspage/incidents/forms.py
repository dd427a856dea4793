"""Forms of the team site's incident and maintenance pages.

They parse and check the shape of the input; the lifecycle rules live in
statuspage.incidents.rules and are applied by the services, whose ValidationErrors are
shown on the fields they name (``add_service_errors``).
"""

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet, formset_factory
from django.utils import timezone

from statuspage.catalog.models import Service
from statuspage.incidents.models import (
    ComponentStatus,
    Impact,
    Incident,
    IncidentStatus,
    Maintenance,
    MaintenanceStatus,
)
from statuspage.incidents.rules import CLOSED_STATUSES, MAX_BODY, OPEN_STATUSES

MARKDOWN_HELP = "Markdown: **bold**, _italic_, lists and links. Shown on the public page."


class LocalDateTimeInput(forms.DateTimeInput):
    """The browser's date-and-time picker; values are in the user's time zone."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def _body_field(label: str, *, required: bool = True) -> forms.CharField:
    # Not stripped: leading spaces carry meaning in Markdown (an indented line is code).
    return forms.CharField(
        label=label,
        required=required,
        strip=False,
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=MARKDOWN_HELP,
    )


class PlainForm(forms.Form):
    """Labels without the trailing colon: they are shown above their fields."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the fields it names, the rest above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


# ---------------------------------------------------------------- incidents


class IncidentForm(PlainForm):
    title = forms.CharField(max_length=200, help_text="Shown on the public page.")
    impact = forms.ChoiceField(choices=Impact.choices, initial=Impact.MINOR)
    status = forms.ChoiceField(
        choices=[(s, s.label) for s in (*OPEN_STATUSES, IncidentStatus.RESOLVED)],
        initial=IncidentStatus.INVESTIGATING,
    )
    started_at = forms.DateTimeField(label="Started at", widget=LocalDateTimeInput())
    body = _body_field("First update")
    publish = forms.BooleanField(
        label="Publish on the public status page now",
        required=False,
        help_text="Left unticked, the incident is a draft that only the team sees.",
    )

    def clean_started_at(self):
        value = self.cleaned_data["started_at"]
        if value > timezone.now():
            raise ValidationError("The start cannot be in the future.")
        return value


class AffectedForm(PlainForm):
    service = forms.ChoiceField(required=False)
    component_status = forms.ChoiceField(
        label="Puts it in",
        choices=ComponentStatus.choices,
        initial=ComponentStatus.PARTIAL_OUTAGE,
    )

    def __init__(self, *args, services: list[Service], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [("", "—"), *((str(s.pk), s.name) for s in services)]


class BaseAffectedFormSet(BaseFormSet):
    """Rows of (service, component status); blank rows are ignored."""

    def __init__(self, *args, services: list[Service], **kwargs):
        self.services = {str(s.pk): s for s in services}
        super().__init__(*args, form_kwargs={"services": services}, **kwargs)

    def clean(self) -> None:
        if any(self.errors):
            return
        chosen = [f.cleaned_data.get("service") for f in self.forms if f.cleaned_data]
        chosen = [pk for pk in chosen if pk]
        if len(chosen) != len(set(chosen)):
            raise ValidationError("Each service can be listed once.")

    def affected(self) -> dict[Service, str]:
        return {
            self.services[f.cleaned_data["service"]]: f.cleaned_data["component_status"]
            for f in self.forms
            if f.cleaned_data and f.cleaned_data.get("service")
        }


AffectedFormSet = formset_factory(
    AffectedForm, formset=BaseAffectedFormSet, extra=2, max_num=50, absolute_max=100
)


def affected_formset(
    data=None, *, services: list[Service], incident: Incident | None = None, initial=None
) -> BaseAffectedFormSet:
    """The affected-services rows: the incident's current ones (or ``initial``) and 2 blank."""
    if incident is not None:
        initial = [
            {"service": str(row.service_id), "component_status": row.component_status}
            for row in incident.affected.all()
        ]
    return AffectedFormSet(data, services=services, initial=initial, prefix="affected")


class IncidentUpdateForm(PlainForm):
    status = forms.ChoiceField()
    body = _body_field("Update")
    reopen = forms.BooleanField(
        label="Reopen the incident",
        required=False,
        help_text="Needed to set a resolved incident back to investigating, identified or "
        "monitoring.",
    )

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, **kwargs)
        closed = incident.status in CLOSED_STATUSES
        order = (
            (IncidentStatus.RESOLVED, IncidentStatus.POSTMORTEM, *OPEN_STATUSES)
            if closed
            else (*OPEN_STATUSES, IncidentStatus.RESOLVED)
        )
        self.fields["status"].choices = [(s, s.label) for s in order]
        self.fields["status"].initial = incident.status
        if not closed:
            del self.fields["reopen"]


class PostmortemForm(PlainForm):
    body = forms.CharField(
        label="Postmortem",
        strip=False,
        max_length=MAX_BODY * 5,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=MARKDOWN_HELP,
    )


# ---------------------------------------------------------------- maintenance


class MaintenanceForm(PlainForm):
    title = forms.CharField(max_length=200, help_text="Shown on the public page.")
    services = forms.MultipleChoiceField(
        label="Affected services", widget=forms.CheckboxSelectMultiple
    )
    scheduled_for = forms.DateTimeField(label="Starts at", widget=LocalDateTimeInput())
    scheduled_until = forms.DateTimeField(label="Ends at", widget=LocalDateTimeInput())
    body = _body_field("Announcement")
    publish = forms.BooleanField(
        label="Publish on the public status page", required=False, initial=True
    )
    auto_start = forms.BooleanField(
        label="Start by itself at the start time", required=False, initial=True
    )
    auto_complete = forms.BooleanField(
        label="Complete by itself at the end time", required=False, initial=True
    )

    def __init__(self, *args, services: list[Service], **kwargs):
        super().__init__(*args, **kwargs)
        self.services = {str(s.pk): s for s in services}
        self.fields["services"].choices = [(str(s.pk), s.name) for s in services]

    def clean(self):
        data = super().clean()
        start, end = data.get("scheduled_for"), data.get("scheduled_until")
        if start and end and end <= start:
            self.add_error("scheduled_until", "The window must end after it starts.")
        return data

    def chosen_services(self) -> list[Service]:
        return [self.services[pk] for pk in self.cleaned_data["services"]]


class MaintenanceUpdateForm(PlainForm):
    status = forms.ChoiceField(choices=MaintenanceStatus.choices)
    body = _body_field("Update")

    def __init__(self, *args, maintenance: Maintenance, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].initial = maintenance.status
