"""Missed check-ins: a reminder at the team's cut-off on the patient's clock, an amber alert
to the team two hours later, only on infusion days. Time travel with time-machine."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from alerts.models import Alert, MissedCheckIn
from alerts.sweeps import missed_check_ins_sweep
from notifications.models import Delivery, Purpose
from tests.alerts.conftest import record
from tests.factories import plan_set


def at(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def sweep_at(moment: datetime) -> tuple[list[int], int]:
    with time_machine.travel(moment, tick=False):
        return missed_check_ins_sweep(now=moment)


def reminders() -> list[tuple[str, str]]:
    return [(d.role, d.address) for d in Delivery.objects.filter(purpose=Purpose.REMINDER)]


def registered_long_ago(patient) -> None:
    type(patient).objects.filter(pk=patient.pk).update(created_at=at(2025, 1, 1, 9))
    patient.refresh_from_db()


@pytest.fixture
def on_infusion(patient):
    plan_set(patient, date(2025, 5, 20))  # 2 June is day 14 of 28 on infusion
    registered_long_ago(patient)
    return patient


def test_no_reminder_before_the_cutoff(on_infusion):
    sweep_at(at(2025, 6, 2, 18, 59))  # 19:59 in London (BST)
    assert reminders() == []


def test_the_patient_is_reminded_at_the_cutoff_in_their_time_zone(on_infusion, patient_user):
    sweep_at(at(2025, 6, 2, 19, 0))  # 20:00 BST
    assert reminders() == [("patient", patient_user.email)]
    assert MissedCheckIn.objects.get().day == date(2025, 6, 2)


def test_a_child_s_caregiver_is_reminded(child, caregiver):
    plan_set(child, date(2025, 5, 20))
    registered_long_ago(child)
    sweep_at(at(2025, 6, 2, 19, 0))
    assert reminders() == [("caregiver", caregiver.email)]


def test_a_check_in_that_day_means_no_reminder(on_infusion, patient_user):
    with time_machine.travel(at(2025, 6, 2, 7, 30), tick=False):
        record(on_infusion, patient_user, temperature_c=36.7)
    sweep_at(at(2025, 6, 2, 19, 0))
    assert reminders() == []


def test_the_team_gets_one_amber_alert_two_hours_after_the_cutoff(on_infusion, team):
    sweep_at(at(2025, 6, 2, 19, 0))
    sweep_at(at(2025, 6, 2, 20, 59))
    assert not Alert.objects.exists()
    assert sweep_at(at(2025, 6, 2, 21, 0)) == ([], 1)
    assert sweep_at(at(2025, 6, 2, 21, 30)) == ([], 0)
    alert = Alert.objects.get()
    assert (alert.severity, alert.rules) == ("amber", ["missed_check_in"])
    notice = Delivery.objects.get(purpose=Purpose.NOTICE)
    assert notice.address == team.duty_email
    assert len(reminders()) == 1


def test_a_check_in_after_the_reminder_stops_the_alert(on_infusion, patient_user):
    sweep_at(at(2025, 6, 2, 19, 0))
    with time_machine.travel(at(2025, 6, 2, 19, 40), tick=False):
        record(on_infusion, patient_user, temperature_c=36.7)
    sweep_at(at(2025, 6, 2, 21, 0))
    assert not Alert.objects.exists()


def test_nothing_for_a_day_before_the_patient_was_registered(on_infusion):
    type(on_infusion).objects.filter(pk=on_infusion.pk).update(
        created_at=at(2025, 6, 2, 19, 30))  # added to Homeline after that day's cut-off
    on_infusion.refresh_from_db()
    sweep_at(at(2025, 6, 2, 21, 0))
    assert not MissedCheckIn.objects.exists()


def test_nothing_on_a_treatment_break(on_infusion):
    plan_set(on_infusion, date(2025, 4, 25))  # 2 June is day 39: a break
    sweep_at(at(2025, 6, 2, 19, 0))
    sweep_at(at(2025, 6, 2, 21, 0))
    assert reminders() == []
    assert not Alert.objects.exists()


def test_the_cutoff_follows_the_clock_change_in_spring(on_infusion):
    plan_set(on_infusion, date(2025, 3, 20))
    # 30 March 2025: London moves to BST at 01:00 UTC, so 20:00 local is 19:00 UTC,
    # whereas the day before 20:00 local was 20:00 UTC.
    sweep_at(at(2025, 3, 29, 19, 0))
    assert reminders() == []  # 19:00 GMT, before that day's cut-off
    sweep_at(at(2025, 3, 29, 20, 0))
    assert [m.day for m in MissedCheckIn.objects.all()] == [date(2025, 3, 29)]
    sweep_at(at(2025, 3, 30, 18, 59))
    assert MissedCheckIn.objects.count() == 1
    sweep_at(at(2025, 3, 30, 19, 0))  # 20:00 BST
    assert [m.day for m in MissedCheckIn.objects.order_by("day")] == [
        date(2025, 3, 29), date(2025, 3, 30)]


def test_the_cutoff_follows_the_clock_change_in_autumn(on_infusion):
    plan_set(on_infusion, date(2025, 10, 20))
    # 26 October 2025: back to GMT at 01:00 UTC; 20:00 local is 20:00 UTC again.
    sweep_at(at(2025, 10, 26, 19, 59))
    assert reminders() == []
    sweep_at(at(2025, 10, 26, 20, 0))
    assert len(reminders()) == 1


def test_a_patient_abroad_is_reminded_at_the_cutoff_on_their_own_clock(on_infusion, team):
    on_infusion.time_zone = "America/New_York"  # team and nurse in London
    on_infusion.save()
    sweep_at(at(2025, 6, 2, 19, 0))  # 20:00 in London, 15:00 in New York
    assert reminders() == []
    sweep_at(at(2025, 6, 3, 0, 0))  # 20:00 EDT on 2 June
    assert [m.day for m in MissedCheckIn.objects.all()] == [date(2025, 6, 2)]
    assert len(reminders()) == 1
    assert sweep_at(at(2025, 6, 3, 2, 0))[1] == 1  # 22:00 EDT: the team's alert


def test_a_late_cycle_keeps_the_break_going_then_its_infusion_days_count(on_infusion):
    # Cycle 1 from 1 April 2025: break from 29 April; cycle 2 planned for 13 May but moved
    # to 2 June (late). 1 June is still the break; 2 June is infusion day 1 of cycle 2.
    plan_set(on_infusion, date(2025, 4, 1), 2, cycle_2=date(2025, 6, 2))
    sweep_at(at(2025, 6, 1, 19, 0))
    sweep_at(at(2025, 6, 1, 21, 0))
    assert not MissedCheckIn.objects.exists()
    sweep_at(at(2025, 6, 2, 19, 0))
    assert [m.day for m in MissedCheckIn.objects.all()] == [date(2025, 6, 2)]


def test_a_patient_without_a_plan_is_never_reminded(on_infusion):
    plan_set(on_infusion, None)
    sweep_at(at(2025, 6, 2, 19, 0))
    sweep_at(at(2025, 6, 2, 21, 0))
    assert not MissedCheckIn.objects.exists()
