"""Channels, events, notifications and deliveries in the admin.

Channels are saved through `channel_save` (the rules the API and the YAML use). Targets
and signing secrets are never put back into a form: the target field starts empty and
keeps the stored value when left empty, and a webhook's signing secret is shown once, in
the response to the save that created it, and never again (only masked). Events,
notifications and deliveries are read-only: they are the record of what was sent, and dead
letters are listed with their reason.
"""

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from checks.sealing import MASK
from statuspage.alerts.channels import channel_save, settings_errors, target_errors
from statuspage.alerts.models import (
    Channel,
    Delivery,
    DeliveryState,
    Event,
    EventKind,
    Notification,
    ServiceChannel,
)
from statuspage.catalog.permissions import can_edit_service

SETTINGS = ("events", "min_tier", "escalation", "remind_every_s", "enabled")


class ChannelForm(forms.ModelForm):
    target = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"size": 80, "autocomplete": "off"}),
        help_text="Email addresses (comma separated), the webhook URL or the Apprise URL. "
        "Stored encrypted; leave empty to keep the stored one.",
    )
    events = forms.MultipleChoiceField(
        choices=EventKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )
    new_secret = forms.BooleanField(
        required=False,
        label="New signing secret",
        help_text="Webhook only: replace the signing secret (the new one is shown once).",
    )

    class Meta:
        model = Channel
        fields = ("team", "name", "kind", "target", *SETTINGS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.initial["target"] = ""  # never send the secret URL back to the browser
        if self.instance.pk:
            self.fields["target"].help_text = (
                f"Stored: {self.instance.masked()}. " + self.fields["target"].help_text
            )

    def clean(self):
        data = super().clean()
        kind, target = data.get("kind"), data.get("target")
        if not self.instance.pk and not target:
            self.add_error("target", "Enter the target.")
        elif target and kind:
            for error in target_errors(kind, target):
                self.add_error("target", error)
        elif kind and self.instance.pk and kind != self.instance.kind:
            self.add_error("target", "Enter the target again when changing the kind.")
        problems = settings_errors(
            events=list(data.get("events") or []),
            min_tier=data.get("min_tier"),
            remind_every_s=data.get("remind_every_s"),
        )
        for field, error in problems.items():
            self.add_error(field, error)
        return data


class ServiceChannelInline(admin.TabularInline):
    model = ServiceChannel
    extra = 0
    autocomplete_fields = ("service",)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = (
        "name",
        "team",
        "kind",
        "masked_target",
        "enabled",
        "last_success_at",
        "last_failure_at",
        "last_failure_reason",
    )
    list_filter = ("kind", "enabled", "team")
    list_select_related = ("team",)
    search_fields = ("name", "team__name")
    readonly_fields = ("masked_target", "masked_secret", "last_success_at", "last_failure_at",
                       "last_failure_reason", "target_env")  # fmt: skip
    inlines = [ServiceChannelInline]

    @admin.display(description="Target")
    def masked_target(self, channel: Channel) -> str:
        return channel.masked()

    @admin.display(description="Signing secret")
    def masked_secret(self, channel: Channel) -> str:
        return f"whsec_{MASK}" if channel.signing_secret else "—"

    def get_fields(self, request: HttpRequest, obj: Channel | None = None):
        fields = ["team", "name", "kind", "target", *SETTINGS]
        if obj is not None:
            fields[4:4] = ["masked_target", "target_env", "masked_secret", "new_secret"]
            fields += ["last_success_at", "last_failure_at", "last_failure_reason"]
        return fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_edit_service(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return can_edit_service(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return can_edit_service(request.user)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return can_edit_service(request.user)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return can_edit_service(request.user)

    def save_model(self, request: HttpRequest, obj: Channel, form: ChannelForm, change: bool):
        data = form.cleaned_data
        saved = channel_save(
            channel=obj if change else None,
            team=data["team"],
            name=data["name"],
            kind=data["kind"],
            target=data.get("target") or None,
            fields={name: data.get(name) for name in SETTINGS},
            new_secret=data.get("new_secret", False),
        )
        for field in Channel._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved.channel, field.attname))
        obj._state.adding = False
        # Handed to the response within this request only, never stored.
        request.alert_new_secret = saved.new_secret

    def _secret_page(self, request: HttpRequest, obj: Channel) -> HttpResponse | None:
        secret = getattr(request, "alert_new_secret", None)
        if not secret:
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Signing secret",
            "opts": self.opts,
            "channel": obj,
            "secret": secret,
            "changelist_url": reverse("admin:alerts_channel_changelist"),
        }
        response = TemplateResponse(request, "alerts/admin_secret.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_page(request, obj) or super().response_add(request, obj)

    def response_change(self, request, obj):
        return self._secret_page(request, obj) or super().response_change(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_edit_service(request.user)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return can_edit_service(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "kind", "service", "key")
    list_filter = ("kind",)
    list_select_related = ("service",)
    search_fields = ("key", "service__name")
    date_hierarchy = "occurred_at"


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event", "channel", "state", "delivery")
    list_filter = ("state", "channel__kind")
    list_select_related = ("event", "channel", "delivery")


class DeadLetterFilter(admin.SimpleListFilter):
    title = "dead letters"
    parameter_name = "dead"

    def lookups(self, request, model_admin):
        return [("yes", "Dead letters only")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(state=DeliveryState.DEAD)
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "channel", "key", "state", "attempts", "next_attempt_at",
                    "last_error", "sent_at", "ms")  # fmt: skip
    list_filter = (DeadLetterFilter, "state", "channel__kind", "channel")
    list_select_related = ("channel",)
    search_fields = ("key", "last_error", "channel__name")


# Public subscribers and their mail have an admin of their own; importing it registers it.
from statuspage.alerts import subscriber_admin  # noqa: E402, F401
