"""The nurse's triage queue: order, contents, actions, refresh, and its query count."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, AlertState
from notifications.models import Delivery, DeliveryState
from symptoms.services import check_in_record
from tests.conftest import verified_client
from tests.factories import PatientFactory
from triage.validation import parse_check_in

pytestmark = pytest.mark.django_db


def raise_alert(patient, by, when=None, **data):
    """Save a check-in as if at `when` (the alert opens then)."""
    when = when or timezone.now()
    with time_machine.travel(when, tick=False):
        check_in_record(
            patient=patient, recorded_by=by, submission_key=uuid.uuid4(),
            data=parse_check_in({"recorded_at": when.isoformat(), **data}),
        )
    return Alert.objects.get(patient=patient, state__in=["open", "acknowledged"])


def rows(response):
    return [alert.pk for alert in response.context["page"]]


def test_red_comes_before_amber_and_oldest_first_within_each(as_user, nurse, team, patient):
    now = timezone.now()
    people = [PatientFactory(care_team=team) for _ in range(3)]
    amber_old = raise_alert(people[0], nurse, now - timedelta(hours=3), symptoms={"rash": 2})
    red_new = raise_alert(people[1], nurse, now - timedelta(minutes=5), temperature_c=38.5)
    red_old = raise_alert(people[2], nurse, now - timedelta(hours=1), pump="alarm")
    amber_new = raise_alert(patient, nurse, now - timedelta(minutes=1), symptoms={"cough": 2})
    response = as_user(nurse).get(reverse("alert_list"))
    assert rows(response) == [red_old.pk, red_new.pk, amber_old.pk, amber_new.pk]


def test_a_row_says_who_what_when_and_how_long(as_user, nurse, caregiver, child):
    started = timezone.now() - timedelta(minutes=42)
    raise_alert(child, caregiver, started, temperature_c=38.3, symptoms={"chills": 1})
    with time_machine.travel(started + timedelta(minutes=42)):
        html = as_user(nurse).get(reverse("alert_list")).content.decode()
    assert child.display_name in html
    assert child.hospital_number in html
    assert f"age {child.age}" in html
    assert "cycle 1, infusion day 4 of 28" in html  # the factory's plan: started 3 days ago
    assert "Temperature 38.3 °C, at or above 37.5 °C" in html
    assert caregiver.full_name in html
    assert "(a caregiver)" in html
    assert "42" in html.split("waiting")[1][:60]
    assert "not acknowledged" in html


def test_failed_message_is_flagged_on_the_row(as_user, nurse, patient):
    alert = raise_alert(patient, patient.user, temperature_c=38.9)
    Delivery.objects.filter(alert=alert).update(state=DeliveryState.FAILED,
                                                failed_at=timezone.now(),
                                                last_error="SMTP 550 mailbox unavailable")
    html = as_user(nurse).get(reverse("alert_list")).content.decode()
    assert "message failed" in html
    assert "SMTP 550 mailbox unavailable" in html


def test_resolved_alerts_and_other_teams_alerts_are_not_in_the_queue(
    as_user, nurse, patient, other_patient, other_team_nurse
):
    mine = raise_alert(patient, patient.user, temperature_c=38.9)
    raise_alert(other_patient, other_team_nurse, temperature_c=38.9)
    assert rows(as_user(nurse).get(reverse("alert_list"))) == [mine.pk]
    mine.state, mine.resolved_by, mine.resolved_at, mine.outcome = (
        AlertState.RESOLVED, nurse, timezone.now(), "no_action")
    mine.save()
    assert rows(as_user(nurse).get(reverse("alert_list"))) == []


def test_patients_and_caregivers_have_no_queue(as_user, patient, caregiver):
    assert as_user(patient.user).get(reverse("alert_list")).status_code == 404
    assert as_user(caregiver).get(reverse("alert_list")).status_code == 404


def test_acknowledge_from_the_queue_returns_to_it_and_records_who(as_user, nurse, patient):
    alert = raise_alert(patient, patient.user, temperature_c=38.9)
    response = as_user(nurse).post(
        reverse("alert_acknowledge", args=[alert.pk]),
        {"seen_version": alert.version, "next": reverse("alert_list")},
    )
    assert response["Location"] == reverse("alert_list")
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED
    assert alert.acknowledged_by == nurse
    # The acknowledgement is in the alert's history, with who did it.
    latest = alert.history.latest()
    assert latest.state == "acknowledged"
    assert latest.history_user_id == nurse.pk


def test_second_nurse_is_told_who_acknowledged_first(as_user, nurse, team, patient):
    from tests.factories import StaffFactory

    colleague = StaffFactory(team=team, full_name="Carla Colleague")
    alert = raise_alert(patient, patient.user, temperature_c=38.9)
    first, second = as_user(nurse), as_user(colleague)
    payload = {"seen_version": alert.version, "next": reverse("alert_list")}
    first.post(reverse("alert_acknowledge", args=[alert.pk]), payload)
    response = second.post(reverse("alert_acknowledge", args=[alert.pk]), payload, follow=True)
    text = " ".join(str(m) for m in response.context["messages"])
    assert f"Already acknowledged by {nurse.full_name}" in text
    alert.refresh_from_db()
    assert alert.acknowledged_by == nurse


def test_resolve_needs_an_outcome_and_records_the_note(as_user, nurse, patient):
    alert = raise_alert(patient, patient.user, temperature_c=38.9)
    client = as_user(nurse)
    client.post(reverse("alert_resolve", args=[alert.pk]), {"outcome": "", "seen_version": 1})
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN
    client.post(reverse("alert_resolve", args=[alert.pk]),
                {"outcome": "patient_attending", "note": "Coming in to day unit",
                 "seen_version": alert.version})
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert alert.outcome_note == "Coming in to day unit"
    assert alert.history.latest().history_user_id == nurse.pk


def test_a_get_never_acknowledges(as_user, nurse, patient):
    alert = raise_alert(patient, patient.user, temperature_c=38.9)
    assert as_user(nurse).get(reverse("alert_acknowledge", args=[alert.pk])).status_code == 405
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN


def test_the_poll_returns_the_queue_and_the_header_counts(as_user, nurse, patient):
    raise_alert(patient, patient.user, temperature_c=38.9)
    response = as_user(nurse).get(reverse("alert_list") + "?partial=1",
                                  HTTP_HX_REQUEST="true", HTTP_X_HOMELINE_BACKGROUND="1")
    html = response.content.decode()
    assert html.lstrip().startswith("<div id=\"queue\"")
    assert 'id="alert-counts"' in html
    assert 'hx-swap-oob="true"' in html
    assert "<html" not in html


def test_header_counts_open_red_and_amber_on_every_staff_page(as_user, nurse, team, patient):
    raise_alert(patient, patient.user, temperature_c=38.9)
    raise_alert(PatientFactory(care_team=team), nurse, symptoms={"rash": 2})
    response = as_user(nurse).get(reverse("staff_home"))
    assert response.context["alert_counts"] == {"red": 1, "amber": 1}


def test_a_poll_after_the_session_ended_sends_the_page_to_sign_in(client, nurse):
    response = client.get(reverse("alert_list") + "?partial=1", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login"))


@pytest.mark.parametrize("open_alerts", [3, 30])
def test_queue_runs_a_fixed_number_of_queries(nurse, team, open_alerts,
                                              django_assert_num_queries):
    for n in range(open_alerts):
        raise_alert(PatientFactory(care_team=team), nurse,
                    **({"temperature_c": 38.2} if n % 2 else {"symptoms": {"rash": 2}}))
    client = verified_client(nurse)
    client.get(reverse("alert_list"))
    with django_assert_num_queries(QUERIES_PER_QUEUE):  # the same at 3 and at 30 alerts
        client.get(reverse("alert_list"))


# 11, and 1 for the read log (which of the listed patients this nurse's log already has),
# and 1 for where each listed patient is (treatment.calendar.positions: the plans' cycles).
QUERIES_PER_QUEUE = 13


def test_queue_is_paginated_and_the_poll_keeps_the_page(as_user, nurse, team):
    for _ in range(27):
        raise_alert(PatientFactory(care_team=team), nurse, temperature_c=38.2)
    client = as_user(nurse)
    first = client.get(reverse("alert_list"))
    assert len(rows(first)) == 25
    second = client.get(reverse("alert_list") + "?page=2")
    assert len(rows(second)) == 2
    assert "?partial=1&amp;page=2" in second.content.decode()


def findings_on_row(html: str, alert_id: int) -> list[str]:
    row = html.split(f'data-alert-id="{alert_id}"', 1)[1].split("</li>\n  \n", 1)[0]
    findings = row.split('class="small mb-1 mt-1 findings"', 1)[1].split("</ul>", 1)[0]
    return [" ".join(item.split("</li>")[0].split()) for item in findings.split("<li")[1:]]


def test_the_row_says_every_red_finding_across_the_alerts_check_ins_emergencies_first(
    as_user, nurse, patient
):
    # A seizure and 39.4 °C, then a headache: the latest check-in alone would show an
    # amber finding under a RED badge.
    start = timezone.now() - timedelta(minutes=30)
    raise_alert(patient, patient.user, start, temperature_c=39.4)
    raise_alert(patient, patient.user, start + timedelta(minutes=10),
                symptoms={"seizure": 1})
    alert = raise_alert(patient, patient.user, start + timedelta(minutes=20),
                        symptoms={"headache": 2})
    html = as_user(nurse).get(reverse("alert_list")).content.decode()
    items = findings_on_row(html, alert.pk)
    assert len(items) == 2, items
    assert "emergency" in items[0]
    assert "eizure" in items[0]
    assert "39.4" in items[1]
    assert not any("eadache" in item for item in items)


def test_an_amber_row_lists_every_amber_finding_once(as_user, nurse, patient):
    start = timezone.now() - timedelta(minutes=30)
    raise_alert(patient, patient.user, start, symptoms={"rash": 2})
    alert = raise_alert(patient, patient.user, start + timedelta(minutes=5),
                        symptoms={"rash": 2})
    html = as_user(nurse).get(reverse("alert_list")).content.decode()
    items = findings_on_row(html, alert.pk)
    assert len(items) == 1, items
    assert "ash" in items[0]
