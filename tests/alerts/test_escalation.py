"""Escalation of unacknowledged alerts, with time travel (time-machine)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from accounts.models import Patient
from alerts import sweeps
from alerts.escalation import escalation_reschedule_team
from alerts.models import Alert
from alerts.services import alert_acknowledge, alert_raise, alert_resolve
from alerts.sweeps import BATCH, alerts_escalate
from notifications.models import Delivery, Purpose
from tests.alerts.conftest import record
from tests.factories import PatientFactory

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


def test_a_team_without_an_escalation_contact_gets_a_visible_failure_not_a_message_to_nobody(
    patient, patient_user, team
):
    team.escalation_email = ""
    team.save()
    with time_machine.travel(START, tick=False):
        record(patient, patient_user, symptoms={"headache": 2})
    sweep_at(START + timedelta(hours=4))
    [row] = Delivery.objects.filter(purpose=Purpose.ESCALATION)
    assert (row.channel, row.role, row.state) == ("none", "escalation", "failed")
    assert "no escalation contact" in row.last_error


# The due time: only what is due is read (issue 10, kind 2) -------------------------------

def _stale_alerts(team, count: int) -> None:
    """`count` red alerts opened long ago and past their last step (no due time), as a
    hospital has after a busy week: bulk-made, they are the rows that used to fill the
    sweep's batch."""
    long_ago = START - timedelta(days=3)
    patients = Patient.objects.bulk_create([
        Patient(care_team=team, display_name=f"Stale {n}", date_of_birth=date(1980, 1, 1),
                hospital_number=f"ST-{n:06d}") for n in range(count)])
    Alert.objects.bulk_create([
        Alert(patient=p, severity="red", rules=["temperature_high"],
              red_rules=["temperature_high"], rules_version="v1", opened_at=long_ago,
              last_notice_at=long_ago, escalation_from=long_ago, escalation_level=2,
              escalation_due_at=None) for p in patients])


def test_alerts_past_their_last_step_never_hide_a_new_red_alert(patient, patient_user, team,
                                                                other_team):
    # More open alerts than one batch, all older than the new one and all past their last
    # step, in this team and another: the new red alert still escalates at 15 minutes.
    _stale_alerts(team, BATCH // 2 + 10)
    _stale_alerts(other_team, BATCH // 2 + 10)
    assert Alert.objects.filter(state="open").count() > BATCH
    with time_machine.travel(START, tick=False):
        record(patient, patient_user, temperature_c=38.5)
    sweep_at(START + timedelta(minutes=15))
    new = Alert.objects.get(patient=patient)
    assert escalations() == [("escalation 1.1", "duty", team.duty_email),
                             ("escalation 1.1", "escalation", team.escalation_email)]
    assert new.escalation_level == 1


def test_more_alerts_due_than_one_batch_all_escalate_in_one_sweep(team, monkeypatch):
    monkeypatch.setattr(sweeps, "BATCH", 4)
    patients = [PatientFactory(care_team=team) for _ in range(10)]
    with time_machine.travel(START, tick=False):
        for p in patients:
            alert_raise(patient=p, severity="red", findings=[], rules_version="v1", now=START)
    sweep_at(START + timedelta(minutes=15))
    assert set(Alert.objects.values_list("escalation_level", flat=True)) == {1}
    assert Delivery.objects.filter(purpose=Purpose.ESCALATION).count() == 20


def test_the_due_time_follows_the_alert_through_its_life(red_at_start, nurse, patient,
                                                         patient_user):
    alert = Alert.objects.get()
    assert alert.escalation_due_at == START + timedelta(minutes=15)
    sweep_at(START + timedelta(minutes=15))
    alert.refresh_from_db()
    assert alert.escalation_due_at == START + timedelta(minutes=30)
    sweep_at(START + timedelta(minutes=30))
    alert.refresh_from_db()
    assert (alert.escalation_level, alert.escalation_due_at) == (2, None)  # last step taken
    with time_machine.travel(START + timedelta(minutes=40), tick=False):
        alert_acknowledge(alert=alert, user=nurse)
    alert.refresh_from_db()
    assert alert.escalation_due_at is None
    # A new red finding after the acknowledgement pages again and starts a new round.
    later = START + timedelta(minutes=50)
    with time_machine.travel(later, tick=False):
        record(patient, patient_user, pump="alarm")
    alert.refresh_from_db()
    assert (alert.state, alert.escalation_round, alert.escalation_due_at) == (
        "open", 2, later + timedelta(minutes=15))


def test_resolving_clears_the_due_time(red_at_start, nurse):
    alert_resolve(alert=red_at_start, user=nurse, outcome="advice_given")
    red_at_start.refresh_from_db()
    assert red_at_start.escalation_due_at is None
    sweep_at(START + timedelta(hours=2))
    assert escalations() == []


def test_changing_the_teams_minutes_moves_the_due_time_of_open_alerts(red_at_start, team):
    team.red_escalation_minutes = 5
    team.save()
    assert escalation_reschedule_team(team) == 1
    red_at_start.refresh_from_db()
    assert red_at_start.escalation_due_at == START + timedelta(minutes=5)
    sweep_at(START + timedelta(minutes=5))
    assert len(escalations()) == 2


def test_a_due_time_that_came_too_early_is_put_right_not_read_for_ever(red_at_start, team):
    # The team lengthened its minutes and nobody rescheduled: the sweep reads the alert,
    # takes no step, and moves its due time to the real one.
    team.red_escalation_minutes = 20
    team.save()
    sweep_at(START + timedelta(minutes=15))
    assert escalations() == []
    red_at_start.refresh_from_db()
    assert red_at_start.escalation_due_at == START + timedelta(minutes=20)


def test_the_sweep_reads_due_alerts_through_the_partial_index(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        query = Alert.objects.filter(state="open", escalation_due_at__lte=START).order_by(
            "escalation_due_at", "pk")[:BATCH]
        plan = query.explain()
        cursor.execute("RESET enable_seqscan")
    assert "alert_escalation_due" in plan


def test_any_save_of_the_teams_minutes_moves_the_due_time_admin_site_included(
    red_at_start, team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        team.red_escalation_minutes = 5
        team.save()
    red_at_start.refresh_from_db()
    assert red_at_start.escalation_due_at == START + timedelta(minutes=5)
    with django_capture_on_commit_callbacks(execute=True):
        team.save(update_fields=["line_phone"])  # no minutes changed: nothing to do
    red_at_start.refresh_from_db()
    assert red_at_start.escalation_due_at == START + timedelta(minutes=5)


def test_the_team_settings_page_reschedules_open_alerts(red_at_start, team, team_admin,
                                                        as_user,
                                                        django_capture_on_commit_callbacks):
    from django.urls import reverse

    client = as_user(team_admin)
    url = reverse("team_settings", args=[team.pk])
    form = client.get(url).context["form"]
    data = {name: ("" if value is None else value)
            for name, value in form.initial.items() if name in form.fields}
    data.update(check_in_cutoff="20:00", red_escalation_minutes="10")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, data).status_code == 302
    red_at_start.refresh_from_db()
    assert red_at_start.escalation_due_at == START + timedelta(minutes=10)
