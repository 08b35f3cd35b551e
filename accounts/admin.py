from django import forms
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
from portal.fields import StrictJSONField


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


class ThresholdsField(StrictJSONField):
    """The thresholds box of the team and patient change forms: a JSON object of
    names and values, or empty for "no overrides" (stored as {}). Refuses, naming the
    field, what the database or the rule set cannot hold: null, a list or any other
    non-object, and JSON nested too deep to parse (Python's RecursionError)."""

    default_error_messages = {
        "not_object": "Thresholds must be an object of names and values, e.g. "
                      '{"fever_high_c": "38.0"}; leave it empty for none.',
        "too_deep": "Thresholds: this is nested too deeply to be thresholds.",
    }

    def __init__(self, **kwargs: object) -> None:
        kwargs["required"] = False
        kwargs.setdefault("label", "Thresholds")
        super().__init__(**kwargs)

    def to_python(self, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return {}  # an empty box: no overrides (a typed `null` is refused below)
        try:
            return super().to_python(value)
        except RecursionError:
            raise forms.ValidationError(self.error_messages["too_deep"],
                                        code="too_deep") from None

    def prepare_value(self, value: object) -> object:
        # A new team or patient has no thresholds yet: an empty box, not "null" (which
        # would then be refused).
        return "" if value is None else super().prepare_value(value)

    def validate(self, value: object) -> None:
        super().validate(value)
        if not isinstance(value, dict):
            raise forms.ValidationError(self.error_messages["not_object"], code="not_object")

    def bound_data(self, data: object, initial: object) -> object:
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            # Shown back as typed; the error above already names the field.
            return forms.fields.InvalidJSONInput(data)


class CareTeamAdminForm(forms.ModelForm):
    """The team's thresholds are checked like every other write of them: against the
    limits of clinical-rules.md and against the overrides of the team's patients
    (symptoms.services.team_thresholds_refusals)."""

    thresholds = ThresholdsField()

    class Meta:
        model = CareTeam
        # Every field, as the admin site shows without a form of its own.
        fields = "__all__"  # noqa: DJ007

    def clean_thresholds(self) -> object:
        from symptoms.services import team_thresholds_refusals

        value = self.cleaned_data.get("thresholds") or {}
        errors = team_thresholds_refusals(self.instance, value)
        if errors:
            raise forms.ValidationError(
                [f"{'thresholds' if k == '__all__' else k}: {v}" for k, v in errors.items()]
            )
        return value


@admin.register(CareTeam)
class CareTeamAdmin(SimpleHistoryAdmin):
    form = CareTeamAdminForm
    list_display = ("name", "line_phone", "time_zone")


class PatientAdminForm(forms.ModelForm):
    """A patient's thresholds are checked like on the Thresholds page: the limits, and no
    crossing with the team's (symptoms.services.patient_thresholds_refusals)."""

    thresholds = ThresholdsField()

    class Meta:
        model = Patient
        # Every field, as the admin site shows without a form of its own.
        fields = "__all__"  # noqa: DJ007

    def clean(self) -> dict:
        from symptoms.services import patient_thresholds_refusals

        data = super().clean()
        value = data.get("thresholds") or {}
        team = data.get("care_team")
        if team is not None and "thresholds" not in self.errors:
            probe = Patient(care_team=team, thresholds=value)
            errors = patient_thresholds_refusals(probe, value)
            if errors:
                self.add_error("thresholds", [f"{k}: {v}" for k, v in errors.items()])
        return data


@admin.register(Patient)
class PatientAdmin(ReadLoggedAdmin, SimpleHistoryAdmin):
    form = PatientAdminForm

    def patient_ids_of(self, obj: Patient) -> list[int]:
        return [obj.pk]
    list_display = ("display_name", "hospital_number", "care_team", "infusion_start_date")
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
