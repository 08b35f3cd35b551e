"""Seed a demo care team for `make run`. Safe to run again: it only creates what is missing."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, date, datetime, time, timedelta

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import CaregiverLink, CareTeam, Membership, Patient, Role, User

TEAM_NAME = "Haematology Day Unit (demo)"
# 01632 960xxx is reserved by Ofcom for drama: it can never ring a real person.
LINE = "01632 960001"


class Command(BaseCommand):
    help = "Create a demo care team, staff, patients and a caregiver (development only)."

    def handle(self, *args: object, **options: object) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run with DJANGO_ENV=production.")
        if CareTeam.objects.filter(name=TEAM_NAME).exists():
            self.stdout.write("Demo team already seeded; its passwords were printed when it "
                              "was created. To start again, delete var/ and run make run.")
            return
        with transaction.atomic():
            printed = self._seed()
        self.stdout.write(self.style.SUCCESS("\nDemo care team created. Sign-in details "
                                             "(shown this once):"))
        for line in printed:
            self.stdout.write("  " + line)
        self.stdout.write(
            "Staff sign in with a code from an authenticator app (key above), or run\n"
            "  .venv/bin/python manage.py demo_totp EMAIL\n"
            "to print the current code. Mail sent by the portal lands in var/mail/.\n"
        )

    def _seed(self) -> list[str]:
        today = date.today()
        team = CareTeam.objects.create(
            name=TEAM_NAME,
            line_phone=LINE,
            emergency_number="999",
            time_zone="Europe/London",
            duty_email="duty-nurse@example.org",
            escalation_email="ward-sister@example.org",
            on_call_doctor_email="oncall-haematology@example.org",
        )
        printed: list[str] = []

        def person(email: str, name: str, role: str) -> User:
            password = secrets.token_urlsafe(9)
            user = User.objects.create_user(email, password, full_name=name, role=role)
            line = f"{role:<10} {email:<28} password {password}"
            if user.needs_two_factor:
                Membership.objects.create(user=user, team=team)
                device = TOTPDevice.objects.create(user=user, name="demo", confirmed=True)
                line += f"  TOTP key {base64.b32encode(device.bin_key).decode()}"
            printed.append(line)
            return user

        person("admin@example.org", "Alex Admin", Role.TEAM_ADMIN)
        nurse = person("nurse@example.org", "Nia Nurse", Role.NURSE)
        sam = person("sam@example.org", "Sam Patel", Role.PATIENT)
        rosa = person("rosa@example.org", "Rosa Jones", Role.CAREGIVER)
        sam_record = Patient.objects.create(
            care_team=team, user=sam, display_name="Sam Patel",
            date_of_birth=date(1968, 4, 2), hospital_number="HD-100234",
        )
        _plan(sam_record, today - timedelta(days=5), planned_cycles=2, nurse=nurse)
        maya = Patient.objects.create(
            care_team=team, display_name="Maya Jones",
            # About seven years old (not replace(year=...), which fails on 29 February).
            date_of_birth=today - timedelta(days=7 * 365 + 40),
            hospital_number="HD-200871",
        )
        _plan(maya, today - timedelta(days=12), planned_cycles=2, nurse=nurse)
        CaregiverLink.objects.create(caregiver=rosa, patient=maya, relationship="mother")
        return printed


def _plan(patient: Patient, start: date, *, planned_cycles: int, nurse: User) -> None:
    """A treatment plan whose cycle 1 starts on `start`, 48-hour bags changed at 10:00, and
    its bag changes recorded on time up to now (the last at the latest due time already
    past), so the demo opens on a bag schedule with nothing overdue. Through the app
    registry: accounts may not import the treatment app (tests/test_architecture.py), but
    the demo needs one."""
    now = timezone.now()
    bag_hours = 48
    plan = apps.get_model("treatment", "TreatmentPlan").objects.create(
        patient=patient, planned_cycles=planned_cycles, bag_hours=bag_hours,
        usual_change_time=time(10, 0), bag_schedule_from=now)
    apps.get_model("treatment", "TreatmentCycle").objects.create(
        plan=plan, number=1, start_date=start)
    step = timedelta(hours=bag_hours)
    # UTC arithmetic, as treatment.bag_changes does (48 real hours across a clock change).
    due = datetime.combine(start, time(10, 0), tzinfo=patient.tz).astimezone(UTC) + step
    changes = []
    while due <= now:
        changes.append(apps.get_model("treatment", "BagChange")(
            patient=patient, changed_at=due, recorded_by=nurse))
        due += step
    apps.get_model("treatment", "BagChange").objects.bulk_create(changes[-3:])
