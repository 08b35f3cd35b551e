"""The queue's order (clinical-rules.md "The carer's worry"): red before amber; within one
severity emergencies first, then the higher worry of the family, then the oldest. The live
refresh keeps it, each row says the emergency and a worry of 3 in words, and the queue costs
the same queries at 5 and at 50 alerts."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert, AlertState
from alerts.selectors import queue_alerts
from alerts.services import alert_raise
from symptoms.models import CheckIn
from tests.alerts.test_queue import QUERIES_PER_QUEUE
from tests.conftest import verified_client
from tests.factories import PatientFactory
from triage.rules import Finding

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def check_in_alert(patient, *, severity, minutes_ago, worry=None, emergency=False):
    """A check-in of `severity` (with `worry`) saved `minutes_ago`, folded into the
    patient's alert as the alerts service does. The check-in row is written directly: the
    order of the queue is under test here, not the rules (tests/triage has those)."""
    when = NOW - timedelta(minutes=minutes_ago)
    finding = Finding("temperature_high" if severity == "red" else "rash", severity,
                      f"{severity} finding of {patient.display_name}", emergency=emergency)
    check_in = CheckIn.objects.create(
        patient=patient, recorded_by=patient.user or patient_user_for(patient),
        recorded_as="patient", recorded_at=when, severity=severity, emergency=emergency,
        worry=worry, findings=[finding.to_json()], rules_version="v2",
        submission_key=uuid.uuid4(),
    )
    return alert_raise(patient=patient, severity=severity, findings=[finding],
                       rules_version="v2", now=when, check_in=check_in)


def patient_user_for(patient):
    from tests.factories import UserFactory

    patient.user = UserFactory()
    patient.save(update_fields=["user"])
    return patient.user


def ids(response):
    return [alert.pk for alert in response.context["page"]]


def html_ids(response):
    return [int(i) for i in re.findall(r'data-alert-id="(\d+)"', response.content.decode())]


@pytest.fixture
def mixed_queue(team):
    def one(**kwargs):
        return check_in_alert(PatientFactory(care_team=team), **kwargs)

    queue = {
        "red_worry0_oldest": one(severity="red", minutes_ago=300, worry=0),
        "red_no_answer_old": one(severity="red", minutes_ago=200),
        "red_worry3_new": one(severity="red", minutes_ago=10, worry=3),
        "red_emergency_newest": one(severity="red", minutes_ago=1, emergency=True, worry=0),
        "red_worry2": one(severity="red", minutes_ago=5, worry=2),
        "amber_worry0_oldest": one(severity="amber", minutes_ago=600, worry=0),
        "amber_worry3_newest": one(severity="amber", minutes_ago=2, worry=3),
        "amber_worry1": one(severity="amber", minutes_ago=30, worry=1),
    }
    # Two check-ins on one alert: the higher worry of the two counts, not the latest.
    later = PatientFactory(care_team=team)
    check_in_alert(later, severity="amber", minutes_ago=40, worry=3)
    queue["amber_worry3_then_0"] = check_in_alert(later, severity="amber", minutes_ago=3,
                                                  worry=0)
    return queue


EXPECTED = [
    "red_emergency_newest",  # an emergency first, however new
    "red_worry3_new",        # then the family's worry, highest first
    "red_worry2",
    "red_worry0_oldest",     # then the oldest (worry 0 and no answer alike)
    "red_no_answer_old",
    "amber_worry3_then_0",   # severity still first: every amber after every red
    "amber_worry3_newest",
    "amber_worry1",
    "amber_worry0_oldest",
]


def test_within_a_severity_emergency_then_worry_then_the_oldest(as_user, nurse, mixed_queue):
    response = as_user(nurse).get(reverse("alert_list"))
    assert ids(response) == [mixed_queue[name].pk for name in EXPECTED]
    assert html_ids(response) == ids(response)


def test_the_live_refresh_keeps_the_same_order(as_user, nurse, mixed_queue):
    client = as_user(nurse)
    full = client.get(reverse("alert_list"))
    poll = client.get(reverse("alert_list") + "?partial=1", HTTP_HX_REQUEST="true",
                      HTTP_X_HOMELINE_BACKGROUND="1")
    assert html_ids(poll) == html_ids(full) == [mixed_queue[n].pk for n in EXPECTED]


def test_an_acknowledged_alert_keeps_its_place(as_user, nurse, mixed_queue):
    alert = mixed_queue["red_worry3_new"]
    Alert.objects.filter(pk=alert.pk).update(state=AlertState.ACKNOWLEDGED,
                                             acknowledged_by=nurse, acknowledged_at=NOW)
    assert ids(as_user(nurse).get(reverse("alert_list"))) == [
        mixed_queue[n].pk for n in EXPECTED]


def row_html(response, alert):
    html = response.content.decode()
    return html.split(f'data-alert-id="{alert.pk}"', 1)[1].split('data-alert-id="', 1)[0]


def test_rows_say_emergency_and_a_very_worried_family_in_words(as_user, nurse, mixed_queue):
    response = as_user(nurse).get(reverse("alert_list"))
    emergency = row_html(response, mixed_queue["red_emergency_newest"])
    assert "· emergency" in emergency
    assert "family very worried" not in emergency
    worried = row_html(response, mixed_queue["red_worry3_new"])
    assert "family very worried" in worried
    assert "· emergency" not in worried
    # Worry 3 on an earlier check-in of the alert still shows.
    assert "family very worried" in row_html(response, mixed_queue["amber_worry3_then_0"])
    assert "family very worried" not in row_html(response, mixed_queue["red_worry0_oldest"])


def test_a_rule_with_no_check_in_is_named_in_words_from_the_catalogue(as_user, nurse, team):
    from triage.catalogue import RULES_BY_CODE

    patient = PatientFactory(care_team=team)
    alert = alert_raise(patient=patient, severity="amber",
                        findings=[Finding("missed_check_in", "amber", "x")],
                        rules_version="v2", now=NOW)
    response = as_user(nurse).get(reverse("alert_list"))
    assert RULES_BY_CODE["missed_check_in"].title in row_html(response, alert)
    page = as_user(nurse).get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert RULES_BY_CODE["missed_check_in"].title in page


def test_the_overdue_bag_change_rule_reads_in_words(as_user, nurse, team):
    patient = PatientFactory(care_team=team)
    alert = alert_raise(patient=patient, severity="red",
                        findings=[Finding("bag_change_overdue", "red", "x")],
                        rules_version="v2", now=NOW)
    row = row_html(as_user(nurse).get(reverse("alert_list")), alert)
    assert "Bag change overdue" in row
    assert "bag_change_overdue" not in row


# QUERIES_PER_QUEUE is the queue page's count, kept with the queue's other tests: the worry
# adds none (a subquery of the alerts' query).
@pytest.mark.parametrize("open_alerts", [5, 50])
def test_the_queue_costs_the_same_queries_at_5_and_50_alerts(
    nurse, team, open_alerts, django_assert_num_queries
):
    for n in range(open_alerts):
        patient = PatientFactory(care_team=team)
        red = n % 2 == 1
        check_in_alert(patient, severity="red" if red else "amber", minutes_ago=n + 1,
                       worry=n % 4, emergency=red and n % 5 == 1)
        if n % 3 == 0:  # some alerts hold two check-ins
            check_in_alert(patient, severity="red", minutes_ago=0, worry=3)
    client = verified_client(nurse)
    client.get(reverse("alert_list"))
    with django_assert_num_queries(QUERIES_PER_QUEUE):
        client.get(reverse("alert_list"))
    # The refresh is the same read (only the template differs).
    with django_assert_num_queries(QUERIES_PER_QUEUE):
        client.get(reverse("alert_list") + "?partial=1", HTTP_HX_REQUEST="true")



def test_open_alerts_are_read_through_a_partial_index(nurse, team):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    check_in_alert(PatientFactory(care_team=team), severity="red", minutes_ago=1, worry=3)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = queue_alerts(nurse).explain()
        cursor.execute("RESET enable_seqscan")
    # Both indexes on open alerts are partial on state <> 'resolved': either way resolved
    # alerts are never read.
    assert "alert_open_queue" in plan or "alert_one_open_per_patient" in plan, plan
