"""Incidents and maintenance in the admin. Every write goes through the services
(statuspage.incidents.services and .services_maintenance).

The forms are plain admin forms; ``save_model`` writes nothing and ``save_related`` hands
the whole change (fields, affected services, new timeline entries) to the services, which
lock, stamp, sync the engine's maintenance windows and bump the status version. Timeline
entries are a record: existing ones are read-only, new ones are posted as updates.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from statuspage.incidents import services, services_maintenance
from statuspage.incidents.models import (
    Incident,
    IncidentService,
    IncidentStatus,
    IncidentUpdate,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
)
from statuspage.incidents.rules import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    incident_transition_error,
    maintenance_transition_error,
    window_errors,
)


def _record_saved(formset, new_objects: list) -> None:
    """The lists formset.save() would set; the admin's change message reads them."""
    formset.new_objects, formset.changed_objects, formset.deleted_objects = new_objects, [], []


def _new_entries(formset) -> list[forms.Form]:
    return [
        f
        for f in formset.forms
        if f.instance.pk is None and f.has_changed() and f.cleaned_data.get("body")
    ]


# ---------------------------------------------------------------- incidents


class IncidentAdminForm(forms.ModelForm):
    """Title, impact and start; when adding, also the first update and whether to publish."""

    status = forms.ChoiceField(
        choices=[(s, s.label) for s in (*OPEN_STATUSES, IncidentStatus.RESOLVED)],
        initial=IncidentStatus.INVESTIGATING,
    )
    body = forms.CharField(label="First update", widget=forms.Textarea, strip=False)
    publish = forms.BooleanField(label="Publish now", required=False)

    class Meta:
        model = Incident
        fields = ["title", "impact", "started_at", "postmortem"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("status", "body", "publish"):
                self.fields.pop(name, None)

    def clean_started_at(self):
        value = self.cleaned_data["started_at"]
        if value and value > timezone.now():
            raise ValidationError("The start cannot be in the future.")
        return value

    def clean_postmortem(self):
        value = self.cleaned_data.get("postmortem", "")
        changed = value != (self.instance.postmortem if self.instance.pk else "")
        if changed and self.instance.status not in CLOSED_STATUSES:
            raise ValidationError("Resolve the incident before writing its postmortem.")
        if changed and not value.strip():
            raise ValidationError("A postmortem cannot be emptied once written.")
        return value


class IncidentServiceInline(admin.TabularInline):
    model = IncidentService
    extra = 1
    fields = ("service", "component_status")


class IncidentUpdateForm(forms.ModelForm):
    reopen = forms.BooleanField(required=False, help_text="Needed to leave resolved.")

    class Meta:
        model = IncidentUpdate
        fields = ["status", "body"]


class IncidentUpdateFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        current = self.instance.status
        for form in _new_entries(self):
            status = form.cleaned_data["status"]
            error = incident_transition_error(
                current=current, new=status, reopen=form.cleaned_data.get("reopen", False)
            )
            if error:
                form.add_error("status", error)
            current = status


class IncidentUpdateInline(admin.TabularInline):
    model = IncidentUpdate
    form = IncidentUpdateForm
    formset = IncidentUpdateFormSet
    extra = 1
    fields = ("status", "body", "reopen", "created_at", "created_by")
    readonly_fields = ("created_at", "created_by")
    ordering = ("-created_at",)
    verbose_name = "update"
    verbose_name_plural = "Timeline (new entries are posted as updates)"

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    form = IncidentAdminForm
    list_display = ("title", "status", "impact", "is_published", "started_at", "resolved_at")
    list_filter = ("status", "impact", "is_published", "affected__service__team")
    search_fields = ("title",)
    date_hierarchy = "started_at"
    readonly_fields = (
        "current_status",
        "is_published",
        "published_at",
        "monitoring_at",
        "resolved_at",
        "created_by",
        "created_at",
        "updated_at",
    )
    actions = ["publish_selected"]

    def get_fields(self, request: HttpRequest, obj: Incident | None = None):
        if obj is None:
            return ("title", "impact", "status", "started_at", "body", "publish")
        return ("title", "impact", "started_at", *self.readonly_fields, "postmortem")

    def get_inlines(self, request: HttpRequest, obj: Incident | None):
        return (
            [IncidentServiceInline]
            if obj is None
            else [IncidentServiceInline, IncidentUpdateInline]
        )

    @admin.display(description="Status")
    def current_status(self, incident: Incident) -> str:
        return incident.get_status_display()

    @admin.action(description="Publish the selected incidents on the status page")
    def publish_selected(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        published = sum(
            services.incident_publish(incident=incident, by=request.user) for incident in queryset
        )
        self.message_user(request, f"{published} incident(s) published.", messages.SUCCESS)

    def save_model(self, request, obj, form, change) -> None:
        """Nothing here: save_related writes the incident with its services, through them."""

    def delete_model(self, request: HttpRequest, obj: Incident) -> None:
        services.incident_delete(incident=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        for incident in queryset:
            services.incident_delete(incident=incident)

    def save_related(self, request, form, formsets, change) -> None:
        affected_set = next(f for f in formsets if f.model is IncidentService)
        affected = {
            f.cleaned_data["service"]: f.cleaned_data["component_status"]
            for f in affected_set.forms
            if f.cleaned_data.get("service") and not f.cleaned_data.get("DELETE")
        }
        data = form.cleaned_data
        if not change:
            incident = services.incident_open(
                title=data["title"],
                impact=data["impact"],
                affected=affected,
                body=data["body"],
                status=data["status"],
                publish=data["publish"],
                by=request.user,
                started_at=data["started_at"],
            )
            form.instance.pk = incident.pk
            form.instance.refresh_from_db()
        else:
            services.incident_edit(
                incident=form.instance,
                title=data["title"],
                impact=data["impact"],
                started_at=data["started_at"],
                affected=affected,
                by=request.user,
            )
            if "postmortem" in form.changed_data:
                services.incident_postmortem_set(
                    incident=form.instance, body=data["postmortem"], by=request.user
                )
        _record_saved(affected_set, [])
        for formset in formsets:
            if formset.model is not IncidentUpdate:
                continue
            posted = [
                services.incident_update_post(
                    incident=form.instance,
                    status=entry.cleaned_data["status"],
                    body=entry.cleaned_data["body"],
                    by=request.user,
                    reopen=entry.cleaned_data.get("reopen", False),
                )
                for entry in _new_entries(formset)
            ]
            _record_saved(formset, posted)


# ---------------------------------------------------------------- maintenance


class MaintenanceAdminForm(forms.ModelForm):
    body = forms.CharField(label="Announcement", widget=forms.Textarea, strip=False)

    class Meta:
        model = Maintenance
        fields = [
            "title",
            "services",
            "scheduled_for",
            "scheduled_until",
            "is_published",
            "auto_start",
            "auto_complete",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].required = True
        if self.instance.pk:
            self.fields.pop("body")

    def clean(self):
        data = super().clean()
        start, end = data.get("scheduled_for"), data.get("scheduled_until")
        if not (start and end):
            return data
        instance = self.instance
        moved = not instance.pk or (start, end) != (
            instance.scheduled_for,
            instance.scheduled_until,
        )
        if moved and (not instance.pk or instance.status == MaintenanceStatus.SCHEDULED):
            for field, message in window_errors(
                scheduled_for=start, scheduled_until=end, now=timezone.now()
            ).items():
                self.add_error(field, message)
        elif end <= start:
            self.add_error("scheduled_until", "The window must end after it starts.")
        return data


class MaintenanceUpdateFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        now = timezone.now()
        for form in _new_entries(self):
            status = form.cleaned_data["status"]
            error = maintenance_transition_error(maintenance=self.instance, new=status, now=now)
            if error:
                form.add_error("status", error)
                return


class MaintenanceUpdateInline(admin.TabularInline):
    model = MaintenanceUpdate
    formset = MaintenanceUpdateFormSet
    extra = 1
    fields = ("status", "body", "created_at", "created_by")
    readonly_fields = ("created_at", "created_by")
    ordering = ("-created_at",)
    verbose_name = "update"
    verbose_name_plural = "Timeline (a new entry is posted as an update)"

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Maintenance)
class MaintenanceAdmin(admin.ModelAdmin):
    form = MaintenanceAdminForm
    list_display = ("title", "status", "scheduled_for", "scheduled_until", "is_published")
    list_filter = ("status", "is_published", "auto_start", "auto_complete", "services")
    search_fields = ("title",)
    date_hierarchy = "scheduled_for"
    filter_horizontal = ("services",)
    readonly_fields = ("status", "started_at", "completed_at", "created_by", "created_at")

    def get_fields(self, request: HttpRequest, obj: Maintenance | None = None):
        fields = list(MaintenanceAdminForm.Meta.fields)
        if obj is None:
            return [*fields, "body"]
        return [*fields, *self.readonly_fields]

    def get_inlines(self, request: HttpRequest, obj: Maintenance | None):
        return [] if obj is None else [MaintenanceUpdateInline]

    def save_model(self, request, obj, form, change) -> None:
        """Nothing here: save_related writes the maintenance and its services, through them."""

    def save_related(self, request, form, formsets, change) -> None:
        data = form.cleaned_data
        plan = {
            "title": data["title"],
            "services": list(data["services"]),
            "scheduled_for": data["scheduled_for"],
            "scheduled_until": data["scheduled_until"],
            "auto_start": data["auto_start"],
            "auto_complete": data["auto_complete"],
            "by": request.user,
        }
        if not change:
            maintenance = services_maintenance.maintenance_schedule(
                **plan, body=data["body"], publish=data["is_published"]
            )
            form.instance.pk = maintenance.pk
            form.instance.refresh_from_db()
        else:
            services_maintenance.maintenance_edit(
                maintenance=form.instance, is_published=data["is_published"], **plan
            )
        for formset in formsets:
            posted = [
                services_maintenance.maintenance_update_post(
                    maintenance=form.instance,
                    status=entry.cleaned_data["status"],
                    body=entry.cleaned_data["body"],
                    by=request.user,
                )
                for entry in _new_entries(formset)
            ]
            _record_saved(formset, posted)

    def delete_model(self, request: HttpRequest, obj: Maintenance) -> None:
        services_maintenance.maintenance_delete(maintenance=obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Maintenance]) -> None:
        for maintenance in queryset:
            services_maintenance.maintenance_delete(maintenance=maintenance, by=request.user)
