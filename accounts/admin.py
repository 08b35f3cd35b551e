from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import (
    AccessLog,
    CaregiverLink,
    CareTeam,
    Invitation,
    Membership,
    Patient,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "role", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "role", "phone", "time_zone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups",
                                    "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("email", "full_name", "role", "password1", "password2")}),
    )


@admin.register(CareTeam)
class CareTeamAdmin(SimpleHistoryAdmin):
    list_display = ("name", "line_phone", "time_zone")


@admin.register(Patient)
class PatientAdmin(SimpleHistoryAdmin):
    list_display = ("display_name", "hospital_number", "care_team", "infusion_start_date")
    list_filter = ("care_team",)
    search_fields = ("display_name", "hospital_number")


@admin.register(CaregiverLink)
class CaregiverLinkAdmin(SimpleHistoryAdmin):
    list_display = ("caregiver", "patient", "relationship", "may_log", "ends_at", "revoked_at")


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ("user", "team")


@admin.register(Invitation)
class InvitationAdmin(SimpleHistoryAdmin):
    list_display = ("email", "role", "care_team", "created_at", "expires_at", "accepted_at")
    readonly_fields = ("token_hash",)


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only: audit rows are written by the app and never edited."""

    list_display = ("at", "user", "patient", "action", "ip_address")
    list_filter = ("action",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
