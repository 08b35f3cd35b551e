"""The treatment plan of a patient, and what happens along it.

clinical-rules.md, "Treatment calendar and bag changes": cycles of 42 days (infusion days
1-28, break days 29-42), up to 5, each with its own start date (a cycle may start late);
the bag duration (24, 48, 72, 96 or 168 hours); the usual time of a bag change; who
changes it. Where the patient is on a day is computed in treatment/calendar.py, from these
rows only.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from accounts.models import Patient

MAX_CYCLES = 5
BAG_HOURS = (24, 48, 72, 96, 168)


class ChangedBy(models.TextChoices):
    """Who changes the bag (clinical-rules.md): only a trained caregiver's family records
    its own bag changes; staff may always record one."""

    DAY_UNIT = "day_unit", "the day unit"
    HOME_NURSE = "home_nurse", "a home nurse"
    TRAINED_CAREGIVER = "trained_caregiver", "a trained caregiver"


class TreatmentPlan(models.Model):
    """A patient's plan, set by staff. One per patient; cycle starts are TreatmentCycle rows.

    `bag_hours` and `usual_change_time` may be unset while staff have not entered them:
    then no bag change is due and nothing is overdue (the plan page says so).
    `usual_change_time` is a wall-clock time in the patient's time zone.
    `bag_schedule_from` is when the bag schedule (bag_hours, usual_change_time, a cycle
    start) was last set: no bag change is counted as due before it (treatment.bag_changes:
    a change cannot be overdue from before the portal knew the schedule). None: from the
    cycle's start (only rows made before the field existed without the data migration).
    """

    patient = models.OneToOneField(Patient, on_delete=models.CASCADE,
                                   related_name="treatment_plan")
    planned_cycles = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_CYCLES)]
    )
    bag_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, choices=[(h, f"{h} hours") for h in BAG_HOURS]
    )
    usual_change_time = models.TimeField(null=True, blank=True)
    changed_by = models.CharField(max_length=20, choices=ChangedBy.choices,
                                  default=ChangedBy.DAY_UNIT)
    bag_schedule_from = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_cycles__gte=1, planned_cycles__lte=MAX_CYCLES),
                name="plan_cycles_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(bag_hours__isnull=True) | Q(bag_hours__in=BAG_HOURS),
                name="plan_bag_hours_known",
            ),
        ]

    def __str__(self) -> str:
        return f"treatment plan of {self.patient}"


class TreatmentCycle(models.Model):
    """The start date of one cycle. Cycle 1 always has a row; a later cycle without one
    starts 42 days after the previous one (treatment/calendar.py)."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.CASCADE, related_name="cycles")
    number = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CYCLES)]
    )
    start_date = models.DateField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="cycle_number_per_plan"),
            models.CheckConstraint(condition=Q(number__gte=1, number__lte=MAX_CYCLES),
                                   name="cycle_number_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"cycle {self.number} of {self.plan.patient} from {self.start_date}"


class BagChange(models.Model):
    """A bag change, recorded in one tap by staff or a trained caregiver. Never edited; a
    wrong one is cancelled (kept, with who and when) and no longer counts."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="bag_changes")
    changed_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    note = models.TextField(max_length=500, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["patient", "-changed_at"], name="bag_change_time")]

    def __str__(self) -> str:
        return f"bag change of {self.patient} at {self.changed_at:%Y-%m-%d %H:%M}"


class ClinicVisit(models.Model):
    """A clinic visit added by staff. `place` is free text shown to the family; the feed
    never shows it in a title (titles say nothing about the illness)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="clinic_visits")
    starts_at = models.DateTimeField()
    place = models.CharField(max_length=120, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["patient", "starts_at"], name="visit_patient_time")]

    def __str__(self) -> str:
        return f"visit of {self.patient} at {self.starts_at:%Y-%m-%d %H:%M}"


class CalendarFeed(models.Model):
    """A private iCalendar feed of one patient's bag changes, visits and reminders.

    Only the SHA-256 of the URL's token is stored: the token is shown once, when made.
    Revoked feeds answer 404 like unknown ones.
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="calendar_feeds")
    token_digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"calendar feed of {self.patient}"
