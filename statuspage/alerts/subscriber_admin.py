"""Admin of public subscribers and their mail: read-only, dead letters with their reason.

Addresses are personal data: staff may look and remove a subscriber, never edit one (a
subscription changes only through the subscriber's own signed links).
"""

from django.contrib import admin

from statuspage.alerts.subscribers import Subscriber, SubscriberMail


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "confirmed_at", "all_components", "created_at"]
    list_filter = [("confirmed_at", admin.EmptyFieldListFilter), "all_components"]
    search_fields = ["email"]
    readonly_fields = ["email", "all_components", "services", "confirmed_at", "created_at"]
    exclude = ["nonce"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SubscriberMail)
class SubscriberMailAdmin(admin.ModelAdmin):
    list_display = [
        "key",
        "kind",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
    ]
    list_filter = ["state", "kind"]
    list_select_related = ["subscriber"]
    search_fields = ["key", "subscriber__email"]
    readonly_fields = [
        "subscriber",
        "event",
        "kind",
        "key",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "sent_at",
        "created_at",
    ]
    exclude = ["context"]  # it holds the subscriber's link nonce

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
