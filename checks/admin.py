"""Checks in the admin: inline on the service page, and a list of all checks.

Only catalog admins change checks. Editors see their own teams' checks read-only beside the
owner notes, and nobody else's: another team's check is a 404. Settings are edited through
a form per kind (checks.admin_forms); secret values are never shown, only masked.
Saves and deletes, on the check's page and inline on the service's, go through
checks.services like every other writer.
"""

import json

from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from checks.admin_forms import KIND_FIELDS, CheckForm, setting_field_names
from checks.models import Check, Kind
from checks.sealing import config_masked
from checks.services import check_delete, check_save
from statuspage.catalog.admin import ServiceAdmin
from statuspage.catalog.models import Service
from statuspage.catalog.permissions import can_edit_service, can_see_team_checks, member_team_ids

SCHEDULE_FIELDS = (
    "interval_s",
    "timeout_s",
    "degraded_ms",
    "failures_before_down",
    "successes_before_up",
    "is_enabled",
    "is_paused",
    "locations",
    "quorum",
)
KIND_LABELS = dict(Kind.choices)


def _kind_fieldset(kind: str, fields: tuple[str, ...]) -> tuple:
    label = f"{KIND_LABELS[kind]} settings"
    return (label, {"fields": fields, "classes": ("check-kind", f"check-kind-{kind}")})


def check_fieldsets(*, editable: bool, head: tuple[str, ...], tail: tuple = ()) -> tuple:
    """Fieldsets of the check form: each kind's settings in a fieldset of its own (the
    script shows the chosen kind's), or the masked settings for those who only read."""
    heartbeat = _kind_fieldset(Kind.HEARTBEAT, ("grace_s", "cron", "ping_url"))
    if editable:
        settings = [_kind_fieldset(kind, setting_field_names(kind)) for kind in KIND_FIELDS]
    else:
        settings = [("Settings", {"fields": ("settings",)})]
    return (
        (None, {"fields": head}),
        *settings,
        heartbeat,
        ("Schedule and thresholds", {"fields": SCHEDULE_FIELDS}),
        *tail,
    )


class CheckDisplay:
    """Read-only fields shared by the inline and the check admin."""

    @admin.display(description="Ping URL")
    def ping_url(self, check: Check) -> str:
        if check.kind != Kind.HEARTBEAT or not check.pk:
            return "-"
        return reverse("ping", args=[check.ping_uuid])

    @admin.display(description="Settings")
    def settings(self, check: Check) -> str:
        shown = json.dumps(config_masked(check.config or {}), indent=2, sort_keys=True)
        return format_html('<pre class="check-settings">{}</pre>', shown)


class CheckFormSet(BaseInlineFormSet):
    """The service page's checks, saved and deleted through the services."""

    def save_new(self, form, commit=True):
        check = super().save_new(form, commit=False)
        if commit:
            check_save(check=check, changed=form.changed_data, reason="admin edit")
        return check

    def save_existing(self, form, obj, commit=True):
        check = super().save_existing(form, obj, commit=False)
        if commit:
            check_save(check=check, changed=form.changed_data, reason="admin edit")
        return check

    def delete_existing(self, obj, commit=True):
        if commit:
            check_delete(checks=[obj], reason="admin edit")


class CheckInline(CheckDisplay, admin.StackedInline):
    model = Check
    form = CheckForm
    formset = CheckFormSet
    extra = 0
    readonly_fields = ("state", "last_checked_at", "last_detail", "ping_url", "settings")
    show_change_link = True

    def get_fieldsets(self, request: HttpRequest, obj: Service | None = None):
        state = ("State", {"fields": ("state", "last_checked_at", "last_detail")})
        return check_fieldsets(
            editable=can_edit_service(request.user), head=("name", "kind"), tail=(state,)
        )

    def has_change_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return can_edit_service(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return can_edit_service(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return can_edit_service(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        if not request.user.has_perm("catalog.view_service"):
            return False
        return obj is None or can_see_team_checks(request.user, obj.team_id)


ServiceAdmin.inlines = [*ServiceAdmin.inlines, CheckInline]


@admin.register(Check)
class CheckAdmin(CheckDisplay, admin.ModelAdmin):
    form = CheckForm
    list_display = ("name", "service_link", "kind", "interval_s", "state", "last_checked_at")
    list_filter = ("kind", "state", "is_enabled", "is_paused", "service__team")
    list_select_related = ("service",)
    search_fields = ("name", "service__name", "service__slug")
    autocomplete_fields = ("service",)
    readonly_fields = ("ping_url", "settings")

    def get_fieldsets(self, request: HttpRequest, obj: Check | None = None):
        return check_fieldsets(
            editable=can_edit_service(request.user), head=("service", "name", "kind")
        )

    @admin.display(description="Service", ordering="service__name")
    def service_link(self, check: Check) -> str:
        url = reverse("admin:catalog_service_change", args=[check.service_id])
        return format_html('<a href="{}">{}</a>', url, check.service.name)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Check]:
        checks = super().get_queryset(request)
        if can_edit_service(request.user):
            return checks
        return checks.filter(service__team__in=member_team_ids(request.user))

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        # Another team's check answers as a missing page, not "perhaps it was deleted".
        check = super().get_object(request, object_id, from_field)
        if check is None:
            raise Http404("No such check")
        return check

    def save_model(self, request, obj, form, change) -> None:
        check_save(check=obj, changed=form.changed_data, reason="admin edit")

    def delete_model(self, request, obj) -> None:
        check_delete(checks=[obj], reason="admin edit")

    def delete_queryset(self, request, queryset) -> None:
        check_delete(checks=queryset, reason="admin edit")

    def has_change_permission(self, request: HttpRequest, obj: Check | None = None) -> bool:
        return can_edit_service(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_edit_service(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Check | None = None) -> bool:
        return can_edit_service(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Check | None = None) -> bool:
        if not request.user.has_perm("catalog.view_service"):
            return False
        return obj is None or can_see_team_checks(request.user, obj.service.team_id)
