"""Acknowledging and resolving: who may, and two nurses at once (one wins, the other is told
who did). The staff pages go through accounts.access: another team's alert answers 404."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection

from symptoms.alerting.models import Alert, AlertState
from symptoms.alerting.services import (
    AlertConflict,
    AlertNotAllowed,
    alert_acknowledge,
    alert_resolve,
)
from tests.alerting.conftest import record
from tests.factories import StaffFactory


@pytest.fixture
def alert(patient, patient_user):
    record(patient, patient_user, temperature_c=38.5)
    return Alert.objects.get()


@pytest.fixture
def second_nurse(team):
    return StaffFactory(email="nurse2@example.org", full_name="Ola Other", team=team)


def test_acknowledging_records_who_and_when_and_keeps_the_alert_open(alert, nurse):
    alert_acknowledge(alert=alert, user=nurse)
    alert.refresh_from_db()
    assert (alert.state, alert.acknowledged_by, alert.resolved_at) == (
        AlertState.ACKNOWLEDGED, nurse, None)
    assert alert.acknowledged_at is not None


def test_a_second_nurse_acknowledging_is_told_who_already_did(alert, nurse, second_nurse):
    with time_machine.travel(datetime(2025, 6, 2, 13, 5, tzinfo=UTC), tick=False):
        alert_acknowledge(alert=alert, user=nurse)
    with pytest.raises(AlertConflict, match=r"Already acknowledged by Nia Nurse at 14:05 BST"):
        alert_acknowledge(alert=alert, user=second_nurse)


def test_acknowledging_twice_by_the_same_nurse_is_harmless(alert, nurse):
    alert_acknowledge(alert=alert, user=nurse)
    assert alert_acknowledge(alert=alert, user=nurse).state == AlertState.ACKNOWLEDGED


def test_an_acknowledgement_of_what_was_seen_before_a_rise_is_refused(alert, nurse, patient,
                                                                      patient_user):
    seen = alert.notices
    record(patient, patient_user, pump="alarm")  # a new red finding: paged again
    with pytest.raises(AlertConflict, match="raised again"):
        alert_acknowledge(alert=alert, user=nurse, seen_notices=seen)


def test_resolving_closes_with_outcome_and_note(alert, nurse):
    alert_resolve(alert=alert, user=nurse, outcome="patient_attending", note="coming in now ")
    alert.refresh_from_db()
    assert (alert.state, alert.resolved_by, alert.outcome, alert.outcome_note) == (
        AlertState.RESOLVED, nurse, "patient_attending", "coming in now")


def test_a_second_nurse_resolving_is_told_who_already_did(alert, nurse, second_nurse):
    alert_resolve(alert=alert, user=nurse, outcome="advice_given")
    with pytest.raises(AlertConflict, match="Already resolved by Nia Nurse"):
        alert_resolve(alert=alert, user=second_nurse, outcome="no_action")
    alert.refresh_from_db()
    assert alert.outcome == "advice_given"


def test_another_teams_nurse_may_not_act(alert, other_team_nurse):
    with pytest.raises(AlertNotAllowed):
        alert_acknowledge(alert=alert, user=other_team_nurse)
    with pytest.raises(AlertNotAllowed):
        alert_resolve(alert=alert, user=other_team_nurse, outcome="no_action")


def test_a_patient_may_not_acknowledge_their_own_alert(alert, patient_user):
    with pytest.raises(AlertNotAllowed):
        alert_acknowledge(alert=alert, user=patient_user)


@pytest.mark.django_db(transaction=True)
def test_two_nurses_resolving_at_the_same_moment_one_wins(shared_database, patient,
                                                         patient_user, nurse, second_nurse):
    record(patient, patient_user, temperature_c=38.5)
    alert = Alert.objects.get()
    start = threading.Barrier(2)
    results: dict[str, str] = {}

    def resolve(user, outcome):
        start.wait()
        try:
            alert_resolve(alert=Alert.objects.get(pk=alert.pk), user=user, outcome=outcome)
            results[user.email] = "won"
        except AlertConflict as exc:
            results[user.email] = str(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve, args=(nurse, "advice_given")),
               threading.Thread(target=resolve, args=(second_nurse, "admitted"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results.values())[1] == "won"
    loser = next(value for value in results.values() if value != "won")
    assert loser.startswith("Already resolved by")
    assert Alert.objects.get().state == AlertState.RESOLVED


# Pages ------------------------------------------------------------------------------------

def test_the_alert_list_shows_the_nurses_own_teams_alerts(alert, nurse, other_team_nurse,
                                                          as_user):
    assert "Sam Patel" in as_user(nurse).get("/alerts/").content.decode()
    assert "Sam Patel" not in as_user(other_team_nurse).get("/alerts/").content.decode()


def test_another_teams_alert_answers_404(alert, other_team_nurse, as_user):
    client = as_user(other_team_nurse)
    assert client.get(f"/alerts/{alert.pk}/").status_code == 404
    assert client.post(f"/alerts/{alert.pk}/acknowledge").status_code == 404


def test_patients_do_not_see_the_staff_alert_pages(alert, patient_user, as_user):
    assert as_user(patient_user).get(f"/alerts/{alert.pk}/").status_code == 404


def test_acknowledging_from_the_page(alert, nurse, as_user):
    response = as_user(nurse).post(f"/alerts/{alert.pk}/acknowledge",
                                   {"seen_notices": alert.notices}, follow=True)
    assert "escalation has stopped" in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by == nurse


def test_resolving_from_the_page_needs_an_outcome(alert, nurse, as_user):
    client = as_user(nurse)
    client.post(f"/alerts/{alert.pk}/resolve", {"outcome": ""})
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN
    client.post(f"/alerts/{alert.pk}/resolve", {"outcome": "admitted", "note": "ward 4"})
    alert.refresh_from_db()
    assert (alert.state, alert.outcome_note) == (AlertState.RESOLVED, "ward 4")


def test_the_page_shows_times_in_the_nurses_time_zone_labelled(patient, patient_user, nurse,
                                                               as_user):
    patient.time_zone = "America/New_York"
    patient.save()
    with time_machine.travel(datetime(2025, 6, 2, 12, 0, tzinfo=UTC), tick=False):
        record(patient, patient_user, temperature_c=38.5)
        page = as_user(nurse).get(f"/alerts/{Alert.objects.get().pk}/").content.decode()
    assert "2 Jun 2025 13:00 BST" in page
    assert "times in Europe/London" in page
