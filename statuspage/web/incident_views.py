"""Incident and maintenance pages of the team site, for users with the incident permission.

Every page needs a signed-in user (anonymous: redirected to the login page) holding
``incidents.write_incident`` (others: 403). Views parse, call a selector or a service, and
render; a form that fails validation is shown again with its errors and status 400, and
nothing is written.
"""

from collections.abc import Callable

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from statuspage.incidents import selectors, services, services_maintenance
from statuspage.incidents.forms import (
    IncidentForm,
    IncidentUpdateForm,
    MaintenanceForm,
    MaintenanceUpdateForm,
    PostmortemForm,
    add_service_errors,
    affected_formset,
)
from statuspage.incidents.models import Incident, Maintenance
from statuspage.incidents.rules import CLOSED_STATUSES

PERMISSION = "incidents.write_incident"


def writer_required(view: Callable) -> Callable:
    """Signed in (else to the login page), and allowed to write incidents (else 403)."""
    return login_required(permission_required(PERMISSION, raise_exception=True)(view))


def _incident_or_404(pk: int) -> Incident:
    incident = selectors.incident_detail(pk=pk)
    if incident is None:
        raise Http404("No such incident.")
    return incident


def _maintenance_or_404(pk: int) -> Maintenance:
    maintenance = selectors.maintenance_detail(pk=pk)
    if maintenance is None:
        raise Http404("No such maintenance.")
    return maintenance


# ---------------------------------------------------------------- incidents


@writer_required
def incident_list(request: HttpRequest) -> HttpResponse:
    incidents = selectors.incident_list()
    context = {
        "incidents": incidents,
        "problems": selectors.services_with_problems(now=timezone.now(), incidents=incidents),
    }
    return render(request, "web/incidents/list.html", context)


@writer_required
def incident_new(request: HttpRequest) -> HttpResponse:
    """The "open an incident" form; ``?service=<slug>`` pre-fills it from that service."""
    choices = selectors.service_choices()
    if request.method == "POST":
        form = IncidentForm(request.POST)
        formset = affected_formset(request.POST, services=choices)
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            try:
                incident = services.incident_open(
                    title=data["title"],
                    impact=data["impact"],
                    affected=formset.affected(),
                    body=data["body"],
                    status=data["status"],
                    publish=data["publish"],
                    by=request.user,
                    started_at=data["started_at"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                return redirect("incident-detail", pk=incident.pk)
        context = {"form": form, "formset": formset, "prefill": None}
        return render(request, "web/incidents/new.html", context, status=400)

    initial: dict = {"started_at": timezone.now()}
    rows = None
    prefill = None
    if slug := request.GET.get("service"):
        prefill = selectors.incident_prefill(slug=slug)
        if prefill is None:
            raise Http404("No such service.")
        initial |= {
            "title": prefill.title,
            "impact": prefill.impact,
            "body": prefill.body,
            "started_at": prefill.started_at or initial["started_at"],
        }
        rows = [{"service": str(prefill.service.pk), "component_status": prefill.component_status}]
    context = {
        "form": IncidentForm(initial=initial),
        "formset": affected_formset(services=choices, initial=rows),
        "prefill": prefill,
    }
    return render(request, "web/incidents/new.html", context)


def _incident_page(
    request: HttpRequest,
    incident: Incident,
    *,
    update_form: IncidentUpdateForm | None = None,
    formset=None,
    postmortem_form: PostmortemForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "incident": incident,
        "update_form": update_form or IncidentUpdateForm(incident=incident),
        "formset": formset
        or affected_formset(services=selectors.service_choices(), incident=incident),
        "postmortem_form": postmortem_form or PostmortemForm(initial={"body": incident.postmortem}),
        "can_postmortem": incident.status in CLOSED_STATUSES,
    }
    return render(request, "web/incidents/detail.html", context, status=status)


@writer_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _incident_page(request, _incident_or_404(pk))


@writer_required
@require_POST
def incident_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Post an update (status and Markdown body), optionally changing the affected services."""
    incident = _incident_or_404(pk)
    form = IncidentUpdateForm(request.POST, incident=incident)
    formset = affected_formset(
        request.POST, services=selectors.service_choices(), incident=incident
    )
    if form.is_valid() and formset.is_valid():
        try:
            services.incident_update_post(
                incident=incident,
                status=form.cleaned_data["status"],
                body=form.cleaned_data["body"],
                by=request.user,
                affected=formset.affected() if formset.has_changed() else None,
                reopen=form.cleaned_data.get("reopen", False),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return redirect("incident-detail", pk=incident.pk)
    return _incident_page(request, incident, update_form=form, formset=formset, status=400)


@writer_required
@require_POST
def incident_publish(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident_or_404(pk)
    services.incident_publish(incident=incident, by=request.user)
    return redirect("incident-detail", pk=incident.pk)


@writer_required
@require_POST
def incident_postmortem(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident_or_404(pk)
    form = PostmortemForm(request.POST)
    if form.is_valid():
        try:
            services.incident_postmortem_set(
                incident=incident, body=form.cleaned_data["body"], by=request.user
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return redirect("incident-detail", pk=incident.pk)
    return _incident_page(request, incident, postmortem_form=form, status=400)


# ---------------------------------------------------------------- maintenance


@writer_required
def maintenance_list(request: HttpRequest) -> HttpResponse:
    context = {"maintenances": selectors.maintenance_list()}
    return render(request, "web/incidents/maintenance_list.html", context)


@writer_required
def maintenance_new(request: HttpRequest) -> HttpResponse:
    choices = selectors.service_choices()
    if request.method != "POST":
        form = MaintenanceForm(services=choices)
        return render(request, "web/incidents/maintenance_new.html", {"form": form})
    form = MaintenanceForm(request.POST, services=choices)
    if form.is_valid():
        data = form.cleaned_data
        try:
            maintenance = services_maintenance.maintenance_schedule(
                title=data["title"],
                services=form.chosen_services(),
                scheduled_for=data["scheduled_for"],
                scheduled_until=data["scheduled_until"],
                body=data["body"],
                by=request.user,
                publish=data["publish"],
                auto_start=data["auto_start"],
                auto_complete=data["auto_complete"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return redirect("maintenance-detail", pk=maintenance.pk)
    return render(request, "web/incidents/maintenance_new.html", {"form": form}, status=400)


def _maintenance_page(
    request: HttpRequest,
    maintenance: Maintenance,
    *,
    form: MaintenanceUpdateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "maintenance": maintenance,
        "update_form": form or MaintenanceUpdateForm(maintenance=maintenance),
    }
    return render(request, "web/incidents/maintenance_detail.html", context, status=status)


@writer_required
def maintenance_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _maintenance_page(request, _maintenance_or_404(pk))


@writer_required
@require_POST
def maintenance_update(request: HttpRequest, pk: int) -> HttpResponse:
    maintenance = _maintenance_or_404(pk)
    form = MaintenanceUpdateForm(request.POST, maintenance=maintenance)
    if form.is_valid():
        try:
            services_maintenance.maintenance_update_post(
                maintenance=maintenance,
                status=form.cleaned_data["status"],
                body=form.cleaned_data["body"],
                by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return redirect("maintenance-detail", pk=maintenance.pk)
    return _maintenance_page(request, maintenance, form=form, status=400)
