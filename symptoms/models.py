"""Check-ins and threshold changes (alerts: alerts/models.py; deliveries: notifications/).

A CheckIn stores the canonical record of clinical-rules.md, and beside it the result the
rules gave when it was saved (severity, emergency flag, findings, rule-set version and the
thresholds in force), so that what the patient was told can always be shown again exactly,
even after a threshold changes.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from accounts.models import CareTeam, Patient
from triage.catalogue import SEVERITIES
from triage.validation import CheckInData

# Database choices for triage.catalogue.SEVERITIES (the one definition): GREEN, AMBER, RED.
Severity = models.TextChoices(
    "Severity", [(level.upper(), (level, level.title())) for level in SEVERITIES]
)


class RecordedAs(models.TextChoices):
    PATIENT = "patient", "the patient"
    CAREGIVER = "caregiver", "a caregiver"
    STAFF_PHONE = "staff_phone", "a nurse, after a phone call"


class NeuroTool(models.TextChoices):
    """Which neurological self-check a check-in holds (clinical-rules.md, "The neurological
    self-check"): the ICE score for a patient aged 12 or over on the day, the CAPD under 12;
    "" when none was done (not offered, or skipped by the family)."""

    ICE = "ice", "ICE score"
    CAPD = "capd", "CAPD"
    NONE = "", "not done"


class CheckIn(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="check_ins")
    # When the reading was taken (the patient may log it a little later).
    recorded_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_as = models.CharField(max_length=16, choices=RecordedAs.choices)
    # One per form shown: a double tap or a resent form carries the same key and makes
    # one check-in.
    submission_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    temperature_c = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    antipyretic_last_6h = models.BooleanField(null=True, blank=True)
    feels_suddenly_unwell = models.BooleanField(null=True, blank=True)
    symptoms = models.JSONField(default=dict, blank=True)
    stools_above_baseline = models.PositiveSmallIntegerField(null=True, blank=True)
    diarrhoea_with_blood = models.BooleanField(null=True, blank=True)
    vomiting_episodes_24h = models.PositiveSmallIntegerField(null=True, blank=True)
    unable_to_keep_fluids = models.BooleanField(null=True, blank=True)
    pump = models.CharField(max_length=16, blank=True)
    spo2 = models.PositiveSmallIntegerField(null=True, blank=True)
    systolic_bp = models.PositiveSmallIntegerField(null=True, blank=True)
    heart_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True, max_length=2000)
    # Version 2 (clinical-rules.md "The neurological self-check", "The carer's worry"): the
    # totals are canonical fields the rules read; the item answers are kept beside them
    # for the nurse (never re-scored from here: triage.neuro does the sums once).
    ice_score = models.PositiveSmallIntegerField(null=True, blank=True)
    capd_score = models.PositiveSmallIntegerField(null=True, blank=True)
    worry = models.PositiveSmallIntegerField(null=True, blank=True)
    neuro_tool = models.CharField(max_length=4, choices=NeuroTool.choices, blank=True,
                                  default=NeuroTool.NONE)
    # {"tool": "ice"|"capd", "answers": {item code: answer}, "unresponsive": bool}
    neuro_items = models.JSONField(default=dict, blank=True)

    severity = models.CharField(max_length=5, choices=Severity.choices)
    emergency = models.BooleanField(default=False)
    findings = models.JSONField(default=list, blank=True)
    rules_version = models.CharField(max_length=16)
    ruleset = models.JSONField(default=dict, blank=True, help_text="thresholds in force")

    history = HistoricalRecords()

    class Meta:
        indexes = [
            # History pages, the timeline and the `worsening` look-back all read a patient's
            # check-ins by time.
            models.Index(fields=["patient", "-recorded_at"], name="checkin_patient_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=["green", "amber", "red"]), name="checkin_severity_known"
            ),
            models.CheckConstraint(
                condition=Q(temperature_c__isnull=True)
                | Q(temperature_c__gte=Decimal("30.0"), temperature_c__lte=Decimal("45.0")),
                name="checkin_temperature_in_range",
            ),
            models.CheckConstraint(
                condition=Q(emergency=False) | Q(severity="red"), name="checkin_emergency_is_red"
            ),
            models.CheckConstraint(
                condition=Q(ice_score__isnull=True) | Q(ice_score__gte=0, ice_score__lte=10),
                name="checkin_ice_score_in_range",
            ),
            models.CheckConstraint(
                condition=Q(capd_score__isnull=True) | Q(capd_score__gte=0, capd_score__lte=32),
                name="checkin_capd_score_in_range",
            ),
            models.CheckConstraint(
                condition=Q(worry__isnull=True) | Q(worry__gte=0, worry__lte=3),
                name="checkin_worry_in_range",
            ),
            models.CheckConstraint(
                condition=Q(neuro_tool__in=["", "ice", "capd"]), name="checkin_neuro_tool_known"
            ),
            # A total belongs to the tool that was done: never an ICE score on a CAPD row.
            models.CheckConstraint(
                condition=(Q(ice_score__isnull=True) | Q(neuro_tool="ice"))
                & (Q(capd_score__isnull=True) | Q(neuro_tool="capd")),
                name="checkin_neuro_score_matches_tool",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} {self.recorded_at:%Y-%m-%d %H:%M} {self.severity}"

    DATA_FIELDS = (
        "temperature_c", "antipyretic_last_6h", "feels_suddenly_unwell",
        "stools_above_baseline", "diarrhoea_with_blood", "vomiting_episodes_24h",
        "unable_to_keep_fluids", "spo2", "systolic_bp", "heart_rate",
        "ice_score", "capd_score", "worry",
    )

    @property
    def recorded_as_words(self) -> str:
        """Who recorded the check-in, as the pages show it: "on the patient's account"
        (sent from the patient's own login: the phone may have been in someone else's
        hands, e.g. an adult who "cannot be woken" did not tap that button), else the
        RecordedAs words ("a caregiver", "a nurse, after a phone call")."""
        if self.recorded_as == RecordedAs.PATIENT:
            return "on the patient's account"
        return str(self.get_recorded_as_display())

    def to_data(self) -> CheckInData:
        """This check-in in the canonical vocabulary, as the rule engine reads it."""
        return CheckInData(
            recorded_at=self.recorded_at,
            symptoms={code: int(grade) for code, grade in self.symptoms.items()},
            pump=self.pump or None,
            notes=self.notes,
            **{name: getattr(self, name) for name in self.DATA_FIELDS},
        )

    @property
    def is_red(self) -> bool:
        return self.severity == Severity.RED


class ThresholdChange(models.Model):
    """An audited change of a team's or a patient's thresholds. Rows are never edited."""

    care_team = models.ForeignKey(
        CareTeam, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, null=True, blank=True,
        related_name="threshold_changes",
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(max_length=1000)
    old = models.JSONField(default=dict, blank=True)
    new = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-changed_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(care_team__isnull=False) | Q(patient__isnull=False),
                name="threshold_change_has_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"thresholds of {self.patient or self.care_team} by {self.changed_by}"
