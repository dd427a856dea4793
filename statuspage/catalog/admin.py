"""Catalog admin. Owners edit their owner notes inline on the service page.

The admin is a caller like any other: its saves and deletes go through
statuspage.catalog.services, so a service saved here bumps the status version exactly as
one saved by sync_catalog does.

Permission rules come from statuspage.catalog.permissions: an editor sees the service's own
fields read-only and may change only the owner notes of their teams' services. Every note
edit goes through ``owner_note_update`` so history, permissions and logging are written once.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from statuspage.catalog.admin_notes import NoteHistoryHelper, NoteTextField, owner_notes_view
from statuspage.catalog.models import Deployment, DeploymentSource, OwnerNote, Service, Team
from statuspage.catalog.permissions import can_edit_owner_note, can_edit_service
from statuspage.catalog.services import (
    OWNER_NOTE_FIELDS,
    deployment_record,
    deployment_save,
    owner_note_update,
    service_delete,
    service_save,
    team_delete,
    team_members_set,
    team_save,
)


class CatalogHistoryAdmin(SimpleHistoryAdmin):
    """History pages whose "Revert" needs the right to change the object.

    simple-history's revert form checks only that the user may *view* the history before it
    saves, so anyone with view access could rewrite a team (and its members) from there.
    """

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            obj = self.get_object(request, unquote(object_id))
            if obj is None:
                raise Http404("Deleted objects are not restored from their history.")
            if not self.has_change_history_permission(request, obj):
                raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(Team)
class TeamAdmin(CatalogHistoryAdmin):
    list_display = ("name", "slug", "contact_email", "chat_channel")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)

    def save_model(self, request, obj, form, change) -> None:
        obj._history_user = request.user
        team_save(team=obj)

    def delete_model(self, request, obj) -> None:
        team_delete(team=obj)

    def delete_queryset(self, request, queryset) -> None:
        for team in queryset:
            team_delete(team=team)

    def save_related(self, request, form, formsets, change) -> None:
        # Membership grants note editing: it goes through the service that logs it.
        members = form.cleaned_data.pop("members", None)
        super().save_related(request, form, formsets, change)
        if members is not None:
            team_members_set(team=form.instance, users=list(members))


class OwnerNoteFields:
    """Note fields in the admin forms. The runbook is Markdown, where leading and trailing
    whitespace carries meaning (an indented first line is code), so it is not stripped."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in OWNER_NOTE_FIELDS:
            kwargs["form_class"] = NoteTextField
            kwargs["strip"] = db_field.name != "runbook"
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class OwnerNoteInline(OwnerNoteFields, admin.StackedInline):
    model = OwnerNote
    fields = (*OWNER_NOTE_FIELDS, "updated_at", "updated_by", "history_link")
    readonly_fields = ("updated_at", "updated_by", "history_link")
    can_delete = False
    max_num = 1
    min_num = 1
    verbose_name = verbose_name_plural = "Owner notes"

    def get_queryset(self, request: HttpRequest):
        # The service names its note in the form's title ("Owner notes: Checkout").
        return super().get_queryset(request).select_related("service")

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
class ServiceAdmin(CatalogHistoryAdmin):
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

    def get_urls(self):
        notes = path(
            "<path:object_id>/notes/",
            self.admin_site.admin_view(self.owner_notes),
            name="catalog_service_notes",
        )
        return [notes, *super().get_urls()]

    def owner_notes(self, request: HttpRequest, object_id: str):
        """The owner-notes page of one service (see ``admin_notes``)."""
        return owner_notes_view(self, request, object_id)

    def get_prepopulated_fields(self, request: HttpRequest, obj: Service | None = None) -> dict:
        return self.prepopulated_fields if can_edit_service(request.user) else {}

    def get_readonly_fields(self, request: HttpRequest, obj: Service | None = None):
        if can_edit_service(request.user):
            return ()
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def has_change_permission(self, request: HttpRequest, obj: Service | None = None) -> bool:
        # An editor "changes" a service page only to save its owner notes.
        return can_edit_service(request.user) or can_edit_owner_note(request.user, obj)

    def has_change_history_permission(
        self, request: HttpRequest, obj: Service | None = None
    ) -> bool:
        # Reverting restores the service's own fields, which only admins may change.
        return can_edit_service(request.user)

    def save_model(self, request, obj, form, change) -> None:
        # History reverts save here too (simple-history calls save_model).
        if can_edit_service(request.user):
            obj._history_user = request.user
            service_save(service=obj)
        # An editor's form carries only read-only service fields: nothing to save.

    def delete_model(self, request, obj) -> None:
        service_delete(services=[obj])

    def delete_queryset(self, request, queryset) -> None:
        service_delete(services=queryset)

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is not OwnerNote:
            return super().save_formset(request, form, formset, change)
        # owner_note_update writes the note instead of formset.save(); the admin's change
        # message still reads the three lists that formset.save() would have set.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for note_form in formset.forms:
            is_new = note_form.instance.pk is None
            # An untouched extra form (a tampered TOTAL_FORMS) must not blank the note.
            if not note_form.has_changed() and (not is_new or note_form.empty_permitted):
                continue
            values = {f: note_form.cleaned_data.get(f, "") for f in OWNER_NOTE_FIELDS}
            note, changed = owner_note_update(
                service=form.instance, editor=request.user, values=values, reason="admin edit"
            )
            if is_new:
                formset.new_objects.append(note)
            elif changed:
                formset.changed_objects.append((note, changed))
        return None


@admin.register(OwnerNote)
class OwnerNoteAdmin(OwnerNoteFields, CatalogHistoryAdmin):
    """Lists notes and serves their history pages, from which any version can be restored."""

    list_display = ("service", "team", "updated_at", "updated_by")
    list_select_related = ("service__team", "updated_by")
    search_fields = ("service__name", "service__slug")
    fields = ("service", *OWNER_NOTE_FIELDS)
    readonly_fields = ("service",)

    @admin.display(ordering="service__team__name")
    def team(self, note: OwnerNote) -> str:
        return note.service.team.name

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # notes are created with their service

    def has_delete_permission(self, request: HttpRequest, obj: OwnerNote | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OwnerNote | None = None) -> bool:
        return can_edit_owner_note(request.user, obj.service if obj else None)

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("service")

    def history_view_title(self, request: HttpRequest, obj: OwnerNote) -> str:
        return f"Edit history of the owner notes: {obj}"

    def get_historical_record_context_helper(self, request, historical_record):
        return NoteHistoryHelper(self.model, historical_record)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # The history form saves through save_model below, which names the version restored.
        request.owner_note_reverted_version = version_id
        return super().history_form_view(request, object_id, version_id, extra_context)

    def save_model(self, request, obj, form, change) -> None:
        version = getattr(request, "owner_note_reverted_version", None)
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
            deployment_save(deployment=obj)
            return None
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
