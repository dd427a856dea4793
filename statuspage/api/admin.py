"""API tokens in the admin: created (plaintext shown once), listed and revoked.

Only catalog admins and superusers see this page (``can_edit_service``). A token is never
edited or deleted here: it is created through ``api_token_create``, whose plaintext is
rendered in the response to the add form and kept nowhere (not in the session, not in a
message cookie), and retired through ``api_token_revoke``. The hash is never shown.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from statuspage.api.models import ApiToken, Scope
from statuspage.api.services import api_token_create, api_token_revoke
from statuspage.catalog.permissions import can_edit_service

VIEW_FIELDS = (
    "team",
    "name",
    "token_prefix",
    "scope_list",
    "created_at",
    "created_by",
    "last_used_at",
    "revoked_at",
    "revoked_by",
)


class ApiTokenAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="deployments:write records deployments; read lists services and deployments.",
    )

    class Meta:
        model = ApiToken
        fields = ("team", "name", "scopes")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenAddForm
    list_display = (
        "name",
        "token_prefix",
        "team",
        "scope_list",
        "created_at",
        "last_used_at",
        "revoked",
    )
    list_filter = ("team", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("team",)
    search_fields = ("name", "prefix", "team__name", "team__slug")
    actions = ["revoke_tokens"]

    @admin.display(description="Token")
    def token_prefix(self, token: ApiToken) -> str:
        return f"sp_{token.prefix}_…"

    @admin.display(description="Scopes")
    def scope_list(self, token: ApiToken) -> str:
        return ", ".join(token.scopes)

    @admin.display(description="Revoked", boolean=True, ordering="revoked_at")
    def revoked(self, token: ApiToken) -> bool:
        return token.revoked_at is not None

    # --- Who may do what: catalog admins and superusers only ----------------------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_edit_service(request.user)

    def has_view_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return can_edit_service(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_edit_service(request.user)

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # a token is immutable: revoke it and create another

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # revoked tokens stay listed, with who revoked them and when

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return can_edit_service(request.user)

    # --- Forms ----------------------------------------------------------------------------

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None):
        return ("team", "name", "scopes") if obj is None else VIEW_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None):
        return () if obj is None else VIEW_FIELDS

    def save_model(self, request: HttpRequest, obj: ApiToken, form, change: bool) -> None:
        if change:
            return
        token, plaintext = api_token_create(
            team=obj.team,
            name=obj.name,
            scopes=list(form.cleaned_data["scopes"]),
            created_by=request.user,
        )
        for field in ApiToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(token, field.attname))
        # Handed to response_add within this request only.
        request.api_token_plaintext = plaintext

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        plaintext = getattr(request, "api_token_plaintext", None)
        if plaintext is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "API token created",
            "opts": self.opts,
            "token": obj,
            "plaintext": plaintext,
            "changelist_url": reverse("admin:api_apitoken_changelist"),
            "curl_example": curl_example(request.build_absolute_uri("/").rstrip("/")),
        }
        response = TemplateResponse(request, "api/token_created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    # --- Actions --------------------------------------------------------------------------

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = sum(api_token_revoke(token=token, by=request.user) for token in queryset)
        messages.success(request, f"Revoked {revoked} token(s).")


def curl_example(base_url: str) -> str:
    return (
        f'curl -fsS --max-time 10 -X POST "{base_url}/api/v1/deployments" \\\n'
        '  -H "Authorization: Bearer $STATUS_TOKEN" -H "Content-Type: application/json" \\\n'
        '  -d "{\\"service\\": \\"$SERVICE\\", \\"version\\": \\"$VERSION\\", '
        '\\"ref\\": \\"$GIT_SHA\\", \\"actor\\": \\"$CI_ACTOR\\"}"'
    )
