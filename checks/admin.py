"""Checks in the admin: inline on the service page, and a list of all checks.

Only catalog admins change checks; editors see them read-only beside the owner notes.
"""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from checks.models import Check, Kind
from statuspage.catalog.admin import ServiceAdmin
from statuspage.catalog.models import Service
from statuspage.catalog.permissions import can_edit_service

CHECK_FIELDS = (
    "name",
    "kind",
    "config",
    "interval_s",
    "timeout_s",
    "degraded_ms",
    "failures_before_down",
    "successes_before_up",
    "grace_s",
    "cron",
    "is_enabled",
    "is_paused",
)


def _ping_url(check: Check) -> str:
    if check.kind != Kind.HEARTBEAT or not check.pk:
        return "-"
    return reverse("ping", args=[check.ping_uuid])


class CheckInline(admin.StackedInline):
    model = Check
    extra = 0
    fields = (*CHECK_FIELDS, "state", "last_checked_at", "last_detail", "ping_url")
    readonly_fields = ("state", "last_checked_at", "last_detail", "ping_url")
    show_change_link = True

    def has_change_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return can_edit_service(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return can_edit_service(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return can_edit_service(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return request.user.has_perm("catalog.view_service")

    @admin.display(description="Ping URL")
    def ping_url(self, check: Check) -> str:
        return _ping_url(check)


ServiceAdmin.inlines = [*ServiceAdmin.inlines, CheckInline]


@admin.register(Check)
class CheckAdmin(admin.ModelAdmin):
    list_display = ("name", "service_link", "kind", "interval_s", "state", "last_checked_at")
    list_filter = ("kind", "state", "is_enabled", "is_paused", "service__team")
    list_select_related = ("service",)
    search_fields = ("name", "service__name", "service__slug")
    autocomplete_fields = ("service",)
    fields = ("service", *CHECK_FIELDS, "ping_url")
    readonly_fields = ("ping_url",)

    @admin.display(description="Service", ordering="service__name")
    def service_link(self, check: Check) -> str:
        url = reverse("admin:catalog_service_change", args=[check.service_id])
        return format_html('<a href="{}">{}</a>', url, check.service.name)

    @admin.display(description="Ping URL")
    def ping_url(self, check: Check) -> str:
        return _ping_url(check)

    def has_change_permission(self, request: HttpRequest, obj: Check | None = None) -> bool:
        return can_edit_service(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_edit_service(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Check | None = None) -> bool:
        return can_edit_service(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Check | None = None) -> bool:
        return request.user.has_perm("catalog.view_service")
