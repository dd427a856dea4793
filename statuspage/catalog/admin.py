"""Catalog admin. Owners edit their owner notes inline on the service page.

Permission rules come from statuspage.catalog.permissions: an editor sees the service's own
fields read-only and may change only the owner notes of their teams' services. Every note
edit goes through ``owner_note_update`` so history, permissions and logging are written once.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from statuspage.catalog.models import Deployment, DeploymentSource, OwnerNote, Service, Team
from statuspage.catalog.permissions import can_edit_owner_note, can_edit_service
from statuspage.catalog.services import OWNER_NOTE_FIELDS, deployment_record, owner_note_update


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ("name", "slug", "contact_email", "chat_channel")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)


class OwnerNoteInline(admin.StackedInline):
    model = OwnerNote
    fields = (*OWNER_NOTE_FIELDS, "updated_at", "updated_by", "history_link")
    readonly_fields = ("updated_at", "updated_by", "history_link")
    can_delete = False
    max_num = 1
    min_num = 1
    verbose_name_plural = "Owner notes"

    def has_change_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return can_edit_owner_note(request.user, obj)

    def has_add_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return can_edit_owner_note(request.user, obj)

    def has_view_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        return request.user.has_perm("catalog.view_ownernote") or self.has_change_permission(
            request, obj
        )

    @admin.display(description="Edit history")
    def history_link(self, note: OwnerNote) -> str:
        if not note.pk:
            return "-"
        url = reverse("admin:catalog_ownernote_history", args=[note.pk])
        return format_html('<a href="{}">Every edit, with who and when</a>', url)


@admin.register(Service)
class ServiceAdmin(SimpleHistoryAdmin):
    list_display = ("name", "team", "tier", "component_group", "is_public", "is_paused")
    list_filter = ("team", "tier", "is_public", "is_paused")
    list_select_related = ("team",)
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [OwnerNoteInline]
    fieldsets = (
        (None, {"fields": ("name", "slug", "description", "team", "tier", "position")}),
        ("Public page", {"fields": ("is_public", "public_name", "public_description")}),
        ("Operations", {"fields": ("component_group", "is_paused")}),
    )

    def get_prepopulated_fields(self, request: HttpRequest, obj: Service | None = None) -> dict:
        return self.prepopulated_fields if can_edit_service(request.user) else {}

    def get_readonly_fields(self, request: HttpRequest, obj: Service | None = None):
        if can_edit_service(request.user):
            return ()
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def has_change_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        # An editor "changes" a service page only to save its owner notes.
        return can_edit_service(request.user) or can_edit_owner_note(request.user, obj)

    def save_model(self, request, obj, form, change) -> None:
        if can_edit_service(request.user):
            super().save_model(request, obj, form, change)
        # An editor's form carries only read-only service fields: nothing to save.

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not OwnerNote:
            return super().save_formset(request, form, formset, change)
        for note_form in formset.forms:
            if not note_form.has_changed() and note_form.instance.pk:
                continue
            values = {f: note_form.cleaned_data.get(f, "") for f in OWNER_NOTE_FIELDS}
            owner_note_update(
                service=form.instance, editor=request.user, values=values, reason="admin edit"
            )
        return None


@admin.register(OwnerNote)
class OwnerNoteAdmin(SimpleHistoryAdmin):
    """Lists notes and serves their history pages, from which any version can be restored."""

    list_display = ("service", "team", "updated_at", "updated_by")
    list_select_related = ("service__team", "updated_by")
    search_fields = ("service__name", "service__slug")
    fields = ("service", *OWNER_NOTE_FIELDS)
    readonly_fields = ("service",)
    history_list_display = ("history_change_reason",)

    @admin.display(ordering="service__team__name")
    def team(self, note: OwnerNote) -> str:
        return note.service.team.name

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # notes are created with their service

    def has_delete_permission(self, request: HttpRequest, obj: OwnerNote | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OwnerNote | None = None) -> bool:
        return can_edit_owner_note(request.user, obj.service if obj else None)

    def save_model(self, request, obj, form, change) -> None:
        version = (request.resolver_match.kwargs or {}).get("version_id")
        reason = f"revert to version {version}" if version else "admin edit"
        values = {f: getattr(obj, f) for f in OWNER_NOTE_FIELDS}
        try:
            owner_note_update(
                service=obj.service, editor=request.user, values=values, reason=reason
            )
        except PermissionDenied:
            messages.error(request, "You may only edit the owner notes of your team's services.")
            raise


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ("service", "version", "ref", "deployed_at", "deployed_by", "source")
    list_filter = ("source", "service__team")
    list_select_related = ("service",)
    search_fields = ("service__name", "version", "ref", "deployed_by")
    date_hierarchy = "deployed_at"
    autocomplete_fields = ("service",)
    readonly_fields = ("source", "created_at")
    fields = (
        "service",
        "version",
        "ref",
        "deployed_at",
        "deployed_by",
        "reason",
        "files_touched",
        "command",
        "expected_metric",
        "source",
        "created_at",
    )

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return super().save_model(request, obj, form, change)
        saved = deployment_record(
            service=obj.service,
            version=obj.version,
            ref=obj.ref,
            deployed_at=obj.deployed_at,
            deployed_by=obj.deployed_by,
            reason=obj.reason,
            files_touched=obj.files_touched,
            command=obj.command,
            expected_metric=obj.expected_metric,
            source=DeploymentSource.ADMIN,
        )
        obj.pk = saved.pk
        return None
