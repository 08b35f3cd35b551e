from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from accounts.audit import ReadLoggedAdmin
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
class UserAdmin(ReadLoggedAdmin, BaseUserAdmin):
    def patient_ids_of(self, obj: User) -> list[int]:
        # A patient's own account names them; the read log is kept on their record.
        return self.patient_ids_for([obj])

    def patient_ids_for(self, objects: list[User]) -> list[int]:
        return list(Patient.objects.filter(user__in=[u.pk for u in objects])
                    .values_list("pk", flat=True))

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
    # The thresholds field is validated by symptoms/admin.py, which registers a subclass
    # with its form (the rules of thresholds are the symptoms app's, above this one).
    list_display = ("name", "line_phone", "time_zone")


@admin.register(Patient)
class PatientAdmin(ReadLoggedAdmin, SimpleHistoryAdmin):
    # Thresholds: see CareTeamAdmin.

    def patient_ids_of(self, obj: Patient) -> list[int]:
        return [obj.pk]
    list_display = ("display_name", "hospital_number", "care_team", "created_at")
    list_filter = ("care_team",)
    search_fields = ("display_name", "hospital_number")


@admin.register(CaregiverLink)
class CaregiverLinkAdmin(ReadLoggedAdmin, SimpleHistoryAdmin):
    list_display = ("caregiver", "patient", "relationship", "may_log", "ends_at", "revoked_at")

    def patient_ids_of(self, obj: CaregiverLink) -> list[int]:
        return [obj.patient_id]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ("user", "team")


@admin.register(Invitation)
class InvitationAdmin(ReadLoggedAdmin, SimpleHistoryAdmin):
    list_display = ("email", "role", "care_team", "created_at", "expires_at", "accepted_at")
    readonly_fields = ("token_hash",)

    def has_add_permission(self, request) -> bool:
        # Invitations are made in the portal, which sends the link. One added here would
        # have no token (an empty hash: never usable) and a second one would collide on
        # that empty hash.
        return False

    def patient_ids_of(self, obj: Invitation) -> list[int]:
        return [obj.patient_id] if obj.patient_id else []


@admin.register(AccessLog)
class AccessLogAdmin(ReadLoggedAdmin, admin.ModelAdmin):
    """Read-only: audit rows are written by the app and never edited. Reading who read a
    patient's data is itself logged."""

    def patient_ids_of(self, obj: AccessLog) -> list[int]:
        return [obj.patient_id]

    list_display = ("at", "user", "patient", "action", "ip_address")
    list_filter = ("action",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
