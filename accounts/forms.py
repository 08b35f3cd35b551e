from __future__ import annotations

import re

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)

from accounts.models import CareTeam, Patient, Role
from portal.fields import (
    StrictEmailField,
    StrictTextField,
    strict_formfield,
)

# Longer than any password manager makes; a megabyte typed into the box would only make
# the password hash slow.
PASSWORD_MAX_LENGTH = 256


class EmailLoginForm(AuthenticationForm):
    username = StrictEmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = StrictTextField(
        label="Password",
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = [
            "display_name",
            "date_of_birth",
            "hospital_number",
            "time_zone",
        ]
        # Strict fields (portal/fields.py): date of birth 1900 to today, a geographic time
        # zone. The treatment plan is set on the patient's plan page next (treatment/).
        formfield_callback = strict_formfield

    def __init__(self, *args: object, care_team: CareTeam, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.care_team = care_team
        self.instance.care_team = care_team
        if not self.instance.pk:
            self.fields["time_zone"].initial = care_team.time_zone

    def clean_hospital_number(self) -> str:
        number = self.cleaned_data["hospital_number"].strip().upper()
        taken = Patient.objects.filter(care_team=self.care_team, hospital_number=number)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("Another patient of this team has this hospital number.")
        return number


class InvitationForm(forms.Form):
    role = forms.ChoiceField(
        label="Invite as",
        choices=[(Role.CAREGIVER, "Caregiver (parent or carer)"), (Role.PATIENT, "The patient")],
        widget=forms.RadioSelect,
    )
    full_name = StrictTextField(max_length=150, label="Their name")
    email = StrictEmailField(label="Their email address")
    relationship = StrictTextField(
        max_length=60, required=False, label="Relationship",
        help_text="For a caregiver: mother, father, partner...",
    )
    may_log = forms.BooleanField(
        label="May record check-ins", required=False, initial=True
    )

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if data.get("role") == Role.CAREGIVER and not data.get("relationship", "").strip():
            self.add_error("relationship", "Say how the caregiver is related to the patient.")
        return data


class StaffInvitationForm(forms.Form):
    role = forms.ChoiceField(
        choices=[(Role.NURSE, "Nurse"), (Role.CLINICIAN, "Clinician"),
                 (Role.TEAM_ADMIN, "Team admin")],
    )
    full_name = StrictTextField(max_length=150, label="Their name")
    email = StrictEmailField(label="Their email address")


class AcceptInvitationForm(forms.Form):
    full_name = StrictTextField(max_length=150, label="Your name")
    password1 = StrictTextField(
        label="Choose a password",
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = StrictTextField(
        label="Type the password again",
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: object, email: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, object]:
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords are not the same.")
        elif first:
            from accounts.models import User

            probe = User(email=self.email, full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(first, probe)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class TokenForm(forms.Form):
    # Strict (portal/fields.py): NUL, control characters and over-long input are refused
    # naming the field, before the digits check.
    token = StrictTextField(
        label="6-digit code from your authenticator app",
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].replace(" ", "")
        # ASCII digits only: str.isdigit() also accepts Arabic-Indic and other digits.
        if not re.fullmatch(r"[0-9]{6}", token):
            raise forms.ValidationError("Enter the 6 digits your app shows.")
        return token


def _password_field(label: str, autocomplete: str, **kwargs: object) -> StrictTextField:
    """A password box as the sign-in form's: strict, never stripped, at most
    PASSWORD_MAX_LENGTH characters."""
    return StrictTextField(
        label=label,
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
        **kwargs,
    )


class StrictPasswordResetForm(PasswordResetForm):
    """Django's password reset with the sign-in form's email field, and every link built
    from settings.SITE_URL: never from the request's Host header, which a client chooses
    among ALLOWED_HOSTS (a link to a host of their choosing would carry the token there).
    """

    email = StrictEmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def save(self, *args: object, **kwargs: object) -> None:
        from urllib.parse import urlsplit

        from django.conf import settings

        site = urlsplit(settings.SITE_URL)
        kwargs["domain_override"] = site.netloc
        kwargs["use_https"] = site.scheme == "https"
        kwargs["extra_email_context"] = {**(kwargs.get("extra_email_context") or {}),
                                         "site_url": settings.SITE_URL}
        super().save(*args, **kwargs)


class StrictSetPasswordForm(SetPasswordForm):
    """Choosing a new password from a reset link: strict password boxes."""

    new_password1 = _password_field(
        "New password", "new-password",
        help_text=password_validation.password_validators_help_text_html())
    new_password2 = _password_field("Type the new password again", "new-password")


class StrictPasswordChangeForm(PasswordChangeForm):
    """Changing one's password while signed in: strict password boxes."""

    old_password = _password_field("Current password", "current-password")
    new_password1 = _password_field(
        "New password", "new-password",
        help_text=password_validation.password_validators_help_text_html())
    new_password2 = _password_field("Type the new password again", "new-password")


def _admin_login_form_base() -> type:
    # Imported here: django_otp.admin imports the admin site at module level.
    from django_otp.admin import OTPAdminAuthenticationForm

    return OTPAdminAuthenticationForm


class StrictAdminLoginForm(_admin_login_form_base()):
    """The admin site's sign-in (django-otp's, asking for the code too) with the portal
    sign-in's strict boxes and messages (portal/urls.py sets it on the admin site)."""

    username = StrictEmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = _password_field("Password", "current-password")
    otp_token = StrictTextField(
        label="Code from your authenticator app", required=False, max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}))
