"""Issue 10, kind 3 (and kind 1's clock changes): the missed check-in sweep runs a constant
number of queries whatever the number of patients, measures its windows in real (UTC) time
across clock changes, and one failing part of a sweep stops neither the others nor the
heartbeat."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Patient, Role
from alerts import sweeps
from alerts.models import Alert, MissedCheckIn
from alerts.sweeps import missed_check_ins_sweep, sweep_run
from notifications.models import Delivery, Heartbeat, Purpose
from tests.alerts.conftest import record
from tests.factories import CaregiverLinkFactory, PatientFactory, UserFactory
from treatment.models import TreatmentPlan

LONG_AGO = datetime(2025, 1, 1, 9, tzinfo=UTC)
JUNE_2 = date(2025, 6, 2)  # a day on infusion for patients who started on 20 May
CUTOFF_BST = datetime(2025, 6, 2, 19, 0, tzinfo=UTC)  # 20:00 in London


def patients_on_infusion(team, count: int, *, start: date = date(2025, 5, 20),
                         zone: str = "Europe/London") -> list[Patient]:
    made = []
    for i in range(count):
        user = UserFactory(email=f"p{team.pk}-{i}@example.org", role=Role.PATIENT)
        made.append(PatientFactory(care_team=team, user=user, infusion_start_date=start,
                                   time_zone=zone))
    child = PatientFactory(care_team=team, infusion_start_date=start, time_zone=zone)
    CaregiverLinkFactory(patient=child, caregiver=UserFactory(
        email=f"carer{team.pk}@example.org", role=Role.CAREGIVER))
    made.append(child)
    Patient.objects.filter(pk__in=[p.pk for p in made]).update(created_at=LONG_AGO)
    return made


def queries_of_a_sweep(moment: datetime) -> tuple[int, tuple[list[int], int]]:
    with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as ctx:
        result = missed_check_ins_sweep(now=moment)
    return len(ctx.captured_queries), result


def a_team(name: str, **fields):
    from tests.factories import CareTeamFactory

    return CareTeamFactory(name=name, **fields)


@pytest.mark.parametrize("phase", ["reminders", "steady"])
def test_the_sweep_runs_the_same_number_of_queries_for_5_and_60_patients(db, phase):
    counts = []
    for size in (5, 60):
        team = a_team(f"team of {size}")
        made = patients_on_infusion(team, size)
        with time_machine.travel(CUTOFF_BST - timedelta(hours=1), tick=False):
            record(made[0], made[0].user, temperature_c=36.8)  # one who checked in
        Patient.objects.filter(pk=made[0].pk).update(created_at=LONG_AGO)
        moment = CUTOFF_BST + timedelta(minutes=len(counts))
        if phase == "steady":
            missed_check_ins_sweep(now=moment)  # the reminders are made once...
            moment += timedelta(minutes=5)  # ...and a later sweep finds them done
        count, (reminders, alerts) = queries_of_a_sweep(moment)
        counts.append(count)
        # Tidy up so that the second size is measured alone.
        expected = size + 1 - 1 if phase == "reminders" else 0  # +child, -the one checked in
        assert len(reminders) == expected
        assert alerts == 0
        TreatmentPlan.objects.filter(patient__care_team=team).delete()
    assert counts[0] == counts[1], counts
    assert counts[0] <= 14, counts


def test_the_reminder_sweep_reminds_each_patient_and_caregiver_once(db):
    team = a_team("reminders")
    made = patients_on_infusion(team, 4)
    reminders, _ = missed_check_ins_sweep(now=CUTOFF_BST)
    again, _ = missed_check_ins_sweep(now=CUTOFF_BST + timedelta(minutes=1))
    assert again == []
    addresses = sorted(Delivery.objects.filter(pk__in=reminders).values_list("address",
                                                                               flat=True))
    assert addresses == sorted([p.user.email for p in made if p.user] +
                               [f"carer{team.pk}@example.org"])
    assert MissedCheckIn.objects.filter(reminded_at__isnull=False).count() == 5


def test_the_alert_sweep_raises_one_alert_per_patient_who_missed(db):
    team = a_team("alerts")
    made = patients_on_infusion(team, 6)
    missed_check_ins_sweep(now=CUTOFF_BST)
    _, alerts = missed_check_ins_sweep(now=CUTOFF_BST + timedelta(hours=2))
    assert alerts == len(made)
    _, again = missed_check_ins_sweep(now=CUTOFF_BST + timedelta(hours=2, minutes=1))
    assert again == 0
    assert Alert.objects.filter(patient__care_team=team).count() == len(made)


def test_one_patient_s_failing_alert_does_not_stop_the_others(db, monkeypatch):
    team = a_team("one fails")
    made = patients_on_infusion(team, 3)
    real = sweeps._missed_alert
    first = made[0]

    def failing_for_the_first(missed, patient, now):
        if patient.pk == first.pk:
            raise RuntimeError("boom")
        return real(missed, patient, now)

    monkeypatch.setattr(sweeps, "_missed_alert", failing_for_the_first)
    _, alerts = missed_check_ins_sweep(now=CUTOFF_BST + timedelta(hours=2))
    assert alerts == len(made) - 1


# Clock changes: cut-off + 2 h is two real hours -------------------------------------------

CLOCK_CHANGES = [
    # zone, the team's cut-off, the local day whose night has a clock change
    ("America/New_York", time(0, 30), date(2026, 11, 1)),   # 02:00 EDT -> 01:00 EST
    ("America/New_York", time(0, 30), date(2026, 3, 8)),    # 02:00 EST -> 03:00 EDT
    ("Europe/London", time(0, 30), date(2026, 10, 25)),     # 02:00 BST -> 01:00 GMT
    ("Europe/London", time(0, 30), date(2026, 3, 29)),      # 01:00 GMT -> 02:00 BST
    ("Australia/Sydney", time(1, 30), date(2026, 4, 5)),    # 03:00 AEDT -> 02:00 AEST
    ("Australia/Sydney", time(1, 30), date(2026, 10, 4)),   # 02:00 AEST -> 03:00 AEDT
    ("Europe/Berlin", time(1, 30), date(2026, 10, 25)),     # 03:00 CEST -> 02:00 CET
]


@pytest.mark.parametrize(("zone", "cutoff", "day"), CLOCK_CHANGES,
                         ids=[f"{z}-{d}" for z, _, d in CLOCK_CHANGES])
def test_the_missed_check_in_alert_comes_two_real_hours_after_the_cutoff(db, zone, cutoff,
                                                                         day):
    team = a_team(f"{zone} {day}", check_in_cutoff=cutoff)
    [patient, _child] = patients_on_infusion(team, 1, start=day - timedelta(days=3),
                                             zone=zone)
    cutoff_at = datetime.combine(day, cutoff, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    due = cutoff_at + timedelta(hours=2)
    # Wall-clock arithmetic (cut-off + 2 h on the local clock) is an hour off on these
    # nights, except where its result falls in the spring gap and happens to land right.

    with time_machine.travel(cutoff_at, tick=False):
        reminders, alerts = missed_check_ins_sweep(now=cutoff_at)
    assert reminders  # reminded at the cut-off itself
    assert alerts == 0
    early = due - timedelta(minutes=1)
    with time_machine.travel(early, tick=False):
        assert missed_check_ins_sweep(now=early)[1] == 0
    with time_machine.travel(due, tick=False):
        assert missed_check_ins_sweep(now=due)[1] == 2  # the patient and the child
    missed = MissedCheckIn.objects.get(patient=patient)
    assert missed.day == day
    assert missed.cutoff_at == cutoff_at


def test_a_check_in_late_on_the_long_night_counts_for_that_day(db):
    """The local day is measured in real time too: 25 hours on the night clocks go back."""
    zone, day = "America/New_York", date(2026, 11, 1)
    team = a_team("long day", check_in_cutoff=time(20, 0))
    [patient, child] = patients_on_infusion(team, 1, start=day - timedelta(days=3), zone=zone)
    # 23:30 local on 1 November is 04:30 UTC on the 2nd (EST, UTC-5).
    late = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
    with time_machine.travel(late, tick=False):
        record(patient, patient.user, temperature_c=36.8)
    cutoff_at = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 20:00 EST on the 1st
    with time_machine.travel(late + timedelta(minutes=5), tick=False):
        missed_check_ins_sweep(now=late + timedelta(minutes=5))
    assert not MissedCheckIn.objects.filter(patient=patient).exists()
    assert MissedCheckIn.objects.get(patient=child).cutoff_at == cutoff_at


# One failing part of a sweep --------------------------------------------------------------

def test_a_failing_escalation_stops_neither_reminders_nor_the_heartbeat(db, monkeypatch):
    team = a_team("isolation")
    patients_on_infusion(team, 2)

    def broken(*, now):
        raise RuntimeError("escalation is broken")

    monkeypatch.setattr(sweeps, "alerts_escalate", broken)
    with time_machine.travel(CUTOFF_BST, tick=False):
        report = sweep_run(now=CUTOFF_BST, heartbeat="beat")
    assert report.errors == ["escalate"]
    assert len(report.reminders) == 3
    beat = Heartbeat.objects.get(name="beat")
    assert beat.last_run_at == CUTOFF_BST
    assert beat.summary["errors"] == ["escalate"]


@pytest.mark.parametrize("part", ["deliveries_unstick", "deliveries_revive", "deliveries_due",
                                  "missed_check_ins_sweep"])
def test_any_failing_part_still_lets_the_others_run_and_the_heartbeat_beat(db, monkeypatch,
                                                                            part):
    team = a_team("isolation 2")
    patients_on_infusion(team, 1)

    def broken(*, now, **kwargs):
        raise RuntimeError(f"{part} is broken")

    monkeypatch.setattr(sweeps, part, broken)
    with time_machine.travel(CUTOFF_BST, tick=False):
        report = sweep_run(now=CUTOFF_BST, heartbeat="beat")
    assert len(report.errors) == 1
    assert Heartbeat.objects.get(name="beat").last_run_at == CUTOFF_BST
    if part != "missed_check_ins_sweep":
        assert len(report.reminders) == 2
        assert Delivery.objects.filter(purpose=Purpose.REMINDER).count() == 2
