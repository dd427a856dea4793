"""The owner-notes page of the admin: the four note fields of one service and nothing else.

It is what "Edit owner notes" on the service page opens (the full service form is long and
mostly read-only for editors). Saving goes through ``owner_note_update`` like every other
note edit, so permissions, history (who, when, why) and the security log are written once.
The history helper shows who edited a note by name, and "nobody" where a version had no
editor, instead of the history library's "Deleted user (pk=None)".
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from statuspage.catalog.models import OwnerNote, Service
from statuspage.catalog.permissions import can_edit_owner_note, can_edit_service
from statuspage.catalog.services import OWNER_NOTE_FIELDS, owner_note_update


class NoteTextField(forms.CharField):
    """Owner-note text as stored: LF line breaks.

    Browsers send every line break of a textarea as CRLF; without this an untouched note
    would differ from its stored text and each save would write a history row.
    """

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if isinstance(value, str) else value


class OwnerNotesForm(forms.ModelForm):
    """The note fields with their model validation (links are checked there). The runbook
    is Markdown, where leading and trailing whitespace carries meaning (an indented first
    line is code), so it is not stripped."""

    class Meta:
        model = OwnerNote
        fields = OWNER_NOTE_FIELDS
        field_classes = dict.fromkeys(OWNER_NOTE_FIELDS, NoteTextField)
        widgets = {name: forms.Textarea(attrs={"rows": 4}) for name in OWNER_NOTE_FIELDS}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["runbook"].strip = False
        self.fields["runbook"].widget.attrs["rows"] = 12


def _back_url(request: HttpRequest, service: Service) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("service", args=[service.slug])


def owner_notes_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str
) -> HttpResponse:
    service = model_admin.get_object(request, unquote(object_id))
    if service is None:
        raise Http404("No such service")
    if not can_edit_owner_note(request.user, service):
        raise PermissionDenied
    note = OwnerNote.objects.filter(service=service).select_related("updated_by").first()
    form = OwnerNotesForm(request.POST or None, instance=note or OwnerNote(service=service))
    back = _back_url(request, service)
    if request.method == "POST" and form.is_valid():
        values = {name: form.cleaned_data[name] for name in OWNER_NOTE_FIELDS}
        try:
            _, changed = owner_note_update(
                service=service, editor=request.user, values=values, reason="admin edit"
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if changed:
                messages.success(request, f"Owner notes of {service.name} saved.")
            else:
                messages.info(request, "Nothing changed.")
            return HttpResponseRedirect(back)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": f"Owner notes: {service.name}",
        "subtitle": None,
        "service": service,
        "note": note,
        "form": form,
        "back_url": back,
        "history_url": (
            reverse("admin:catalog_ownernote_history", args=[note.pk])
            if note and request.user.is_staff
            else ""
        ),
        "service_form_url": (
            reverse("admin:catalog_service_change", args=[service.pk])
            if can_edit_service(request.user)
            else ""
        ),
    }
    return TemplateResponse(request, "admin/catalog/service/owner_notes.html", context)


class NoteHistoryHelper(HistoricalRecordContextHelper):
    """Names the editor in a history row's changes ("Updated by: alice"), and "nobody"
    where a version had none rather than the history library's "Deleted user (pk=None)"."""

    def prepare_delta_change_value(self, change, value):
        if isinstance(value, DeletedObject):
            return "nobody" if value.pk is None else f"a deleted user (#{value.pk})"
        if change.field == "updated_by" and value is not None:
            return value.get_username()
        return super().prepare_delta_change_value(change, value)
