"""Acknowledging and resolving: who may, and two nurses at once (one wins, the other is told
who did). The staff pages go through accounts.access: another team's alert answers 404."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection

from alerts.models import Alert, AlertState
from alerts.services import (
    AlertChanged,
    AlertConflict,
    AlertNotAllowed,
    alert_acknowledge,
    alert_resolve,
)
from notifications.models import Delivery, DeliveryState, Purpose
from tests.alerts.conftest import record
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
                                   {"seen_version": alert.version}, follow=True)
    assert "escalation has stopped" in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by == nurse


def test_resolving_from_the_page_needs_an_outcome(alert, nurse, as_user):
    client = as_user(nurse)
    client.post(f"/alerts/{alert.pk}/resolve", {"outcome": "", "seen_version": alert.version})
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN
    client.post(f"/alerts/{alert.pk}/resolve", {"outcome": "admitted", "note": "ward 4",
                                                    "seen_version": alert.version})
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


# What the nurse saw: a stale page cannot act (issue 10, kind 2) ----------------------------

@pytest.fixture
def amber_alert(patient, patient_user):
    record(patient, patient_user, symptoms={"headache": 2})
    return Alert.objects.get()


def _rise_to_red(patient, patient_user):
    # 39.4 °C and a disconnected pump while the amber page is open on the nurse's screen.
    record(patient, patient_user, temperature_c=39.4, pump="disconnected")


def test_resolve_from_a_page_opened_before_a_rise_to_red_is_refused_and_says_what_changed(
    amber_alert, nurse, patient, patient_user
):
    seen = amber_alert.version
    _rise_to_red(patient, patient_user)
    with pytest.raises(AlertChanged) as refused:
        alert_resolve(alert=amber_alert, user=nurse, outcome="no_action",
                      note="no action needed", seen_version=seen)
    alert = Alert.objects.get()
    assert (alert.state, alert.severity, alert.resolved_at) == (AlertState.OPEN, "red", None)
    assert "RED" in str(refused.value)
    assert any("39.4" in line for line in refused.value.changes)
    assert alert.escalation_due_at is not None  # escalation still runs


def test_acknowledge_from_a_page_opened_before_any_new_check_in_is_refused(
    amber_alert, nurse, patient, patient_user
):
    seen = amber_alert.version
    record(patient, patient_user, symptoms={"rash": 2})  # amber, no new page: still new
    with pytest.raises(AlertChanged):
        alert_acknowledge(alert=amber_alert, user=nurse, seen_version=seen)
    assert Alert.objects.get().state == AlertState.OPEN


def test_acting_on_the_current_version_works(amber_alert, nurse, patient, patient_user):
    _rise_to_red(patient, patient_user)
    current = Alert.objects.get()
    alert_acknowledge(alert=current, user=nurse, seen_version=current.version)
    alert_resolve(alert=current, user=nurse, outcome="patient_attending",
                  seen_version=current.version)
    assert Alert.objects.get().state == AlertState.RESOLVED


def test_the_stale_page_is_refused_and_the_alert_page_shows_what_changed(
    amber_alert, nurse, patient, patient_user, as_user
):
    client = as_user(nurse)
    page = client.get(f"/alerts/{amber_alert.pk}/").content.decode()
    assert f'name="seen_version" value="{amber_alert.version}"' in page
    _rise_to_red(patient, patient_user)
    response = client.post(f"/alerts/{amber_alert.pk}/resolve",
                           {"outcome": "no_action", "note": "no action needed",
                            "seen_version": amber_alert.version, "next": "/alerts/"},
                           follow=True)
    assert response.redirect_chain[-1][0] == (
        f"/alerts/{amber_alert.pk}/?since={amber_alert.version}")
    html = response.content.decode()
    assert "changed since you opened it" in html
    assert "39.4" in html
    assert Alert.objects.get().state == AlertState.OPEN
    # The check-in that came in since is marked on the page; the one seen is not.
    assert html.count("new since you opened the alert") == 1
    new_item = html.split("new since you opened the alert", 1)[1].split("</li></ul>", 1)[0]
    assert "39.4" in new_item


@pytest.mark.parametrize("seen", ["", "x", "1_0", "²", "-1", "1" * 12])
def test_a_form_without_a_plain_seen_version_acts_on_nothing(alert, nurse, as_user, seen):
    client = as_user(nurse)
    for action, data in (("acknowledge", {}), ("resolve", {"outcome": "no_action"})):
        response = client.post(f"/alerts/{alert.pk}/{action}", {**data, "seen_version": seen})
        assert response.status_code == 302
        assert response["Location"] == f"/alerts/{alert.pk}/"
    assert Alert.objects.get().state == AlertState.OPEN


def test_acknowledging_cancels_escalation_rows_waiting_for_a_retry(alert, nurse):
    alert_raise_escalation(alert)
    waiting = list(Delivery.objects.filter(purpose=Purpose.ESCALATION))
    assert waiting
    Delivery.objects.filter(pk__in=[d.pk for d in waiting]).update(state=DeliveryState.RETRY)
    alert_acknowledge(alert=alert, user=nurse, seen_version=alert.version)
    for row in Delivery.objects.filter(purpose=Purpose.ESCALATION):
        assert row.state == DeliveryState.CANCELLED
        assert row.cancel_reason.startswith("acknowledged by Nia Nurse")
    # The notice to the nurse on duty is not an escalation: it stays.
    assert Delivery.objects.filter(purpose=Purpose.NOTICE).exclude(
        state=DeliveryState.CANCELLED).exists()


def alert_raise_escalation(alert):
    from datetime import timedelta

    from alerts.sweeps import alerts_escalate

    alerts_escalate(now=alert.opened_at + timedelta(minutes=15))


# The alert views' input (issue 11, "Input") -----------------------------------------------

@pytest.mark.parametrize("target", ["id", "alert_list", "https://evil.example/", "//evil.example/",
                                    "/\\evil.example", "javascript:alert(1)", " /alerts/"])
def test_an_unsafe_or_odd_next_goes_to_the_queue_never_500(alert, nurse, as_user, target):
    response = as_user(nurse).post(f"/alerts/{alert.pk}/acknowledge",
                                   {"seen_version": alert.version, "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/alerts/"
    assert Alert.objects.get().state == AlertState.ACKNOWLEDGED


def test_a_local_next_is_followed(alert, nurse, as_user):
    response = as_user(nurse).post(f"/alerts/{alert.pk}/resolve",
                                   {"seen_version": alert.version, "outcome": "admitted",
                                    "next": "/alerts/?page=2"})
    assert response["Location"] == "/alerts/?page=2"


@pytest.mark.parametrize(("note", "words"), [
    ("ward 4\x00", "NUL"),
    ("ok \x85 then", "U+0085"),
    ("ok \x9b then", "U+009B"),
    ("paid \u202egnp.exe", "U+202E"),
    ("isolate \u2067x\u2069", "U+2067"),
    ("bell \x07", "U+0007"),
])
def test_a_note_with_control_characters_is_refused_naming_the_field(alert, nurse, as_user,
                                                                    note, words):
    response = as_user(nurse).post(f"/alerts/{alert.pk}/resolve",
                                   {"seen_version": alert.version, "outcome": "admitted",
                                    "note": note})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Note:" in html
    assert words in html
    assert 'id="note-error"' in html
    assert Alert.objects.get().state == AlertState.OPEN


def test_an_over_long_note_is_refused_never_cut(alert, nurse, as_user):
    note = "x" * 2001
    response = as_user(nurse).post(f"/alerts/{alert.pk}/resolve",
                                   {"seen_version": alert.version, "outcome": "admitted",
                                    "note": note})
    assert response.status_code == 400
    html = response.content.decode()
    assert "at most 2,000 characters, this one has 2,001" in html
    assert note in html  # what was typed is given back, whole
    alert.refresh_from_db()
    assert (alert.state, alert.outcome_note) == (AlertState.OPEN, "")


def test_a_note_of_exactly_the_limit_with_newlines_and_accents_is_kept_whole(alert, nurse):
    note = ("Appelé la mère;\r\n\tvient à 14 h. " * 100)[:2000].strip()
    alert_resolve(alert=alert, user=nurse, outcome="advice_given", note=note,
                  seen_version=alert.version)
    assert Alert.objects.get().outcome_note == note


def test_an_unknown_outcome_is_refused_naming_the_field(alert, nurse, as_user):
    response = as_user(nurse).post(f"/alerts/{alert.pk}/resolve",
                                   {"seen_version": alert.version, "outcome": "gone_home"})
    assert response.status_code == 400
    assert 'id="outcome-error"' in response.content.decode()
    assert Alert.objects.get().state == AlertState.OPEN
