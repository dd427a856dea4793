from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from statuspage.accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Preferences", {"fields": ("time_zone",)}))
    list_display = ("username", "email", "is_staff", "is_superuser", "time_zone")
