"""Escalation of unacknowledged alerts, with time travel (time-machine)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from symptoms.alerting.models import Alert, Delivery, Purpose
from symptoms.alerting.services import alert_acknowledge, alert_raise
from symptoms.alerting.sweeps import alerts_escalate
from tests.alerting.conftest import record

START = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def escalations() -> list[tuple[str, str, str]]:
    return [(d.step, d.role, d.address) for d in
            Delivery.objects.filter(purpose=Purpose.ESCALATION).order_by("step", "role")]


def sweep_at(moment: datetime) -> list[int]:
    with time_machine.travel(moment, tick=False):
        return alerts_escalate(now=moment)


@pytest.fixture
def red_at_start(patient, patient_user):
    with time_machine.travel(START, tick=False):
        record(patient, patient_user, temperature_c=38.5)
    return Alert.objects.get()


def test_red_alert_not_acknowledged_goes_to_duty_and_escalation_contact_at_15_minutes(
    red_at_start, team
):
    sweep_at(START + timedelta(minutes=14, seconds=59))
    assert escalations() == []
    sweep_at(START + timedelta(minutes=15))
    assert escalations() == [("escalation 1.1", "duty", team.duty_email),
                             ("escalation 1.1", "escalation", team.escalation_email)]


def test_red_alert_goes_to_the_on_call_doctor_at_30_minutes(red_at_start, team):
    sweep_at(START + timedelta(minutes=15))
    sweep_at(START + timedelta(minutes=30))
    assert escalations()[-1] == ("escalation 1.2", "doctor", team.on_call_doctor_email)
    assert Alert.objects.get().escalation_level == 2


def test_a_late_sweep_takes_every_step_that_is_due(red_at_start):
    sweep_at(START + timedelta(minutes=45))
    assert [step for step, _, _ in escalations()] == ["escalation 1.1"] * 2 + ["escalation 1.2"]


def test_sweeping_again_escalates_nothing_twice(red_at_start):
    for minutes in (15, 16, 30, 31, 90):
        sweep_at(START + timedelta(minutes=minutes))
    assert len(escalations()) == 3


def test_acknowledging_stops_escalation(red_at_start, nurse):
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        alert_acknowledge(alert=red_at_start, user=nurse)
    sweep_at(START + timedelta(minutes=60))
    assert escalations() == []


def test_amber_alert_goes_to_the_escalation_contact_after_4_hours(patient, patient_user, team):
    with time_machine.travel(START, tick=False):
        record(patient, patient_user, symptoms={"headache": 2})
    sweep_at(START + timedelta(hours=3, minutes=59))
    assert escalations() == []
    sweep_at(START + timedelta(hours=4))
    assert escalations() == [("escalation 1.1", "escalation", team.escalation_email)]


def test_escalation_minutes_are_the_teams_own(patient, patient_user, team):
    team.red_escalation_minutes = 5
    team.red_doctor_minutes = 10
    team.save()
    with time_machine.travel(START, tick=False):
        record(patient, patient_user, temperature_c=38.5)
    sweep_at(START + timedelta(minutes=10))
    assert len(escalations()) == 3


def test_a_rise_to_red_starts_the_red_clock_at_the_rise(patient, patient_user):
    with time_machine.travel(START, tick=False):
        record(patient, patient_user, symptoms={"headache": 2})
    with time_machine.travel(START + timedelta(hours=2), tick=False):
        record(patient, patient_user, temperature_c=38.5)
    sweep_at(START + timedelta(hours=2, minutes=14))
    assert escalations() == []
    sweep_at(START + timedelta(hours=2, minutes=15))
    assert {step for step, _, _ in escalations()} == {"escalation 2.1"}


def test_a_new_red_finding_on_an_unacknowledged_alert_does_not_delay_escalation(
    red_at_start, patient, patient_user
):
    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        record(patient, patient_user, pump="alarm")
    sweep_at(START + timedelta(minutes=15))
    assert len(escalations()) == 2


def test_escalation_counts_real_minutes_across_a_clock_change(patient, team):
    # 30 March 2025: London's clocks jump from 01:00 GMT to 02:00 BST.
    before = datetime(2025, 3, 30, 0, 50, tzinfo=UTC)  # 00:50 GMT
    with time_machine.travel(before, tick=False):
        alert_raise(patient=patient, severity="red", findings=[], rules_version="v1",
                    now=before)
    sweep_at(datetime(2025, 3, 30, 1, 4, tzinfo=UTC))  # 02:04 BST, 14 minutes later
    assert escalations() == []
    sweep_at(datetime(2025, 3, 30, 1, 5, tzinfo=UTC))  # 02:05 BST, 15 minutes later
    assert len(escalations()) == 2


def test_a_team_without_an_escalation_contact_sees_the_step_on_the_nurse_queue(
    patient, patient_user, team
):
    team.escalation_email = ""
    team.save()
    with time_machine.travel(START, tick=False):
        record(patient, patient_user, symptoms={"headache": 2})
    sweep_at(START + timedelta(hours=4))
    assert [(d.channel, d.role) for d in Delivery.objects.filter(purpose=Purpose.ESCALATION)] \
        == [("queue", "nurses")]
