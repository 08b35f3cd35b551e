"""People, roles, care teams, patients and the links between them.

Who may see what is decided in accounts/access.py, not here: models hold data,
constraints and small properties.
"""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from datetime import date, datetime, time

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.models import HistoricalRecords

phone_validator = RegexValidator(
    r"^\+?[0-9][0-9 ()-]{2,30}$", "Enter a phone number: digits, spaces, + ( ) - only."
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/London).")


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    CAREGIVER = "caregiver", "Caregiver"
    NURSE = "nurse", "Nurse"
    CLINICIAN = "clinician", "Clinician"
    TEAM_ADMIN = "team_admin", "Team admin"


STAFF_ROLES = frozenset({Role.NURSE, Role.CLINICIAN, Role.TEAM_ADMIN})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        # Email is the login and people type it in any case.
        return self.get(email__iexact=username)

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.TEAM_ADMIN)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150)
    role = models.CharField(max_length=16, choices=Role.choices)
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    time_zone = models.CharField(
        max_length=64, default="Europe/London", validators=[validate_time_zone]
    )
    # is_staff keeps Django's meaning (may use the admin site); care-team staff are by role.
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()
    # Who was deactivated, when and by whom; never the password hash.
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = self.email.lower()
        super().save(*args, **kwargs)

    @property
    def is_care_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def needs_two_factor(self) -> bool:
        return self.is_care_staff or self.is_staff or self.is_superuser


class AlertMessageDetail(models.TextChoices):
    """How much an alert email or SMS says (alerts/messages.py)."""

    MINIMAL = "minimal", "Only that an alert needs you, and a link to sign in"
    IDENTIFIERS = "identifiers", ("The patient's initials and hospital number too "
                                  "(with the team's name)")
    FINDINGS = "findings", "Initials, hospital number and the findings"


class CareTeam(models.Model):
    name = models.CharField(max_length=120, unique=True)
    line_phone = models.CharField(
        "24-hour line", max_length=32, validators=[phone_validator],
        help_text="The number patients call day and night.",
    )
    emergency_number = models.CharField(
        max_length=8, default="999", validators=[RegexValidator(r"^[0-9]{2,8}$")]
    )
    time_zone = models.CharField(
        max_length=64, default="Europe/London", validators=[validate_time_zone]
    )
    check_in_cutoff = models.TimeField(
        "daily check-in cut-off", default=time(20, 0),
        help_text="A patient on infusion who has not checked in by then gets a reminder.",
    )
    red_escalation_minutes = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(240)]
    )
    red_doctor_minutes = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(480)]
    )
    amber_escalation_minutes = models.PositiveSmallIntegerField(
        default=240, validators=[MinValueValidator(1), MaxValueValidator(1440)]
    )
    duty_email = models.EmailField(
        "nurse on duty email", blank=True, help_text="The shared inbox of the nurse on duty."
    )
    duty_phone = models.CharField(
        "nurse on duty phone", max_length=32, blank=True, validators=[phone_validator]
    )
    escalation_email = models.EmailField("escalation contact email", blank=True)
    escalation_phone = models.CharField(
        "escalation contact phone", max_length=32, blank=True, validators=[phone_validator]
    )
    on_call_doctor_email = models.EmailField(blank=True)
    on_call_doctor_phone = models.CharField(
        max_length=32, blank=True, validators=[phone_validator]
    )
    # What alert emails and SMS may say (they leave the hospital). Chosen by the team's
    # information governance; the default names nobody (issue 11, "Logs and messages").
    alert_message_detail = models.CharField(
        "what alert emails and SMS say", max_length=12, choices=AlertMessageDetail.choices,
        default=AlertMessageDetail.MINIMAL,
        help_text="Email and SMS leave the hospital: the least that lets staff act is safest.",
    )
    # Team-wide threshold overrides over the defaults of clinical-rules.md.
    thresholds = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Membership(models.Model):
    """A member of staff in a care team."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class Patient(models.Model):
    """The clinical record. A patient may have a login of their own, or none (a child)."""

    care_team = models.ForeignKey(CareTeam, on_delete=models.PROTECT, related_name="patients")
    user = models.OneToOneField(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="patient_record"
    )
    display_name = models.CharField(max_length=120)
    date_of_birth = models.DateField()
    hospital_number = models.CharField(
        max_length=32, validators=[RegexValidator(r"^[A-Za-z0-9-]{3,32}$")]
    )
    time_zone = models.CharField(
        max_length=64, default="Europe/London", validators=[validate_time_zone]
    )
    # The treatment plan (cycle dates, planned cycles) is treatment.TreatmentPlan; where the
    # patient is on a day is treatment/calendar.py (accounts may not import treatment).

    # Per-patient threshold overrides; each change is recorded in ThresholdChange.
    thresholds = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["care_team", "hospital_number"], name="patient_hospital_number_per_team"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.hospital_number})"

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def initials(self) -> str:
        return "".join(part[0].upper() for part in self.display_name.split() if part)[:3]

    def local_today(self, now: datetime | None = None) -> date:
        return (now or timezone.now()).astimezone(self.tz).date()

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def age(self) -> int:
        return self.age_on(self.local_today())


class CaregiverLinkQuerySet(models.QuerySet["CaregiverLink"]):
    def active(self, now: datetime | None = None) -> CaregiverLinkQuerySet:
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        )


class CaregiverLink(models.Model):
    """A caregiver's access to a patient. Ends at `ends_at` or when revoked, at once."""

    caregiver = models.ForeignKey(User, on_delete=models.CASCADE, related_name="caregiver_links")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="caregiver_links")
    relationship = models.CharField(max_length=60, help_text="e.g. mother, father, partner")
    may_log = models.BooleanField("may record check-ins", default=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = CaregiverLinkQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["caregiver", "patient"],
                condition=Q(revoked_at__isnull=True),
                name="one_unrevoked_link_per_caregiver_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.caregiver} for {self.patient}"

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.ends_at is None or self.ends_at > now)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Invitation(models.Model):
    """A single-use, expiring link to set a password. Only the token's hash is stored."""

    email = models.EmailField()
    full_name = models.CharField(max_length=150)
    role = models.CharField(max_length=16, choices=Role.choices)
    care_team = models.ForeignKey(CareTeam, on_delete=models.CASCADE, related_name="invitations")
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    relationship = models.CharField(max_length=60, blank=True)
    may_log = models.BooleanField(default=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Invitation for {self.email} ({self.get_role_display()})"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def is_usable(self, now: datetime | None = None) -> bool:
        return self.accepted_at is None and (now or timezone.now()) < self.expires_at


class AccessLog(models.Model):
    """Who read a patient's data, when and from where. Written by the app, never edited."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="access_logs")
    action = models.CharField(max_length=40)
    path = models.CharField(max_length=300)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "-at"], name="accesslog_patient_time")]

    def __str__(self) -> str:
        return f"{self.user} {self.action} {self.patient} at {self.at:%Y-%m-%d %H:%M}"


class ClosureRequest(models.Model):
    """A patient or caregiver asks for their account to be closed."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="closure_requests")
    reason = models.TextField(blank=True, max_length=1000)
    requested_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"closure of {self.user}"


class EnrolmentCode(models.Model):
    """A one-time code with which a staff member sets up their authenticator app
    (accounts/enrolment.py). Without it, or the session in which they accepted their
    invitation, whoever first has a staff account's password could enrol their own phone.

    Issued by a team admin or superuser (accounts.enrolment.enrolment_code_issue); only a
    SHA-256 of the code is stored. Valid until expires_at, once (used_at)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="enrolment_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"enrolment code for {self.user} (until {self.expires_at:%Y-%m-%d %H:%M})"
