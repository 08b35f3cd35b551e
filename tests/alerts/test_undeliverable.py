"""A step with nobody to receive it is a failure the queue, /healthz and the team admin see;
team settings say what is missing (issue 10, kind 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from alerts.models import Alert
from alerts.services import alert_resolve
from alerts.sweeps import alerts_escalate
from alerts.undeliverable import team_missing_contacts
from notifications.health import health_report
from notifications.models import Channel, Delivery, DeliveryState, Purpose
from notifications.outbox import delivery_send
from tests.alerts.conftest import record, use_smtp

START = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def no_escalation_contact_nor_doctor(team):
    team.escalation_email = team.escalation_phone = ""
    team.on_call_doctor_email = team.on_call_doctor_phone = ""
    team.save()
    return team


@pytest.fixture
def red_alert(patient, patient_user):
    with time_machine.travel(START, tick=False):
        record(patient, patient_user, temperature_c=39.4)
    return Alert.objects.get()


def nobody_rows():
    return list(Delivery.objects.filter(channel=Channel.NONE).order_by("step", "role"))


def test_the_15_and_30_minute_steps_to_nobody_are_failures_not_sent_rows(
    no_escalation_contact_nor_doctor, red_alert, team
):
    with time_machine.travel(START + timedelta(minutes=30), tick=False):
        alerts_escalate(now=START + timedelta(minutes=30))
    rows = nobody_rows()
    assert [(r.step, r.role, r.state) for r in rows] == [
        ("escalation 1.1", "escalation", "failed"), ("escalation 1.2", "doctor", "failed")]
    assert "no escalation contact" in rows[0].last_error
    assert "no on-call doctor" in rows[1].last_error
    # Nothing claims to have been sent to nobody; the duty nurse still got her step.
    assert not Delivery.objects.filter(purpose=Purpose.ESCALATION,
                                       state=DeliveryState.SENT).exists()
    assert Delivery.objects.filter(purpose=Purpose.ESCALATION, role="duty",
                                   channel=Channel.EMAIL).exists()
    # Escalating again adds nothing.
    alerts_escalate(now=START + timedelta(minutes=45))
    assert len(nobody_rows()) == 2


def test_the_queue_shows_the_failure_on_the_row_and_in_the_banner(
    no_escalation_contact_nor_doctor, red_alert, nurse, as_user
):
    alerts_escalate(now=START + timedelta(minutes=30))
    html = as_user(nurse).get(reverse("alert_list")).content.decode()
    assert "a step reached nobody" in html
    assert "(escalation 1.2) for Sam Patel" in html
    assert "Messages that could not be delivered" in html
    assert "the team has no on-call doctor" in html


def test_healthz_counts_steps_that_reached_nobody_until_the_alert_is_resolved(
    no_escalation_contact_nor_doctor, red_alert, nurse
):
    alerts_escalate(now=START + timedelta(minutes=30))
    check = health_report()["checks"]["recipients"]
    assert check == {"ok": False, "undeliverable_steps": 2}
    alert_resolve(alert=red_alert, user=nurse, outcome="advice_given",
                  seen_version=red_alert.version)
    assert health_report()["checks"]["recipients"] == {"ok": True, "undeliverable_steps": 0}


def test_no_duty_phone_and_a_failed_email_is_a_visible_failure(settings, unused_port,
                                                               red_alert, team, nurse, as_user):
    assert team.duty_phone == ""
    use_smtp(settings, unused_port)  # nothing listens: every attempt fails
    settings.ALERT_MAX_ATTEMPTS = 1
    notice = Delivery.objects.get(purpose=Purpose.NOTICE)
    assert delivery_send(delivery_id=notice.pk).state == DeliveryState.FAILED
    [fallback] = nobody_rows()
    assert (fallback.purpose, fallback.role, fallback.fallback_for_id) == (
        "fallback", "duty", notice.pk)
    assert "no phone to fall back to" in fallback.last_error
    assert health_report()["checks"]["recipients"]["undeliverable_steps"] == 1
    html = as_user(nurse).get(reverse("alert_list")).content.decode()
    assert "no phone to fall back to" in html


def test_team_settings_say_what_is_missing_and_what_reached_nobody(
    no_escalation_contact_nor_doctor, red_alert, team_admin, team, as_user
):
    missing = team_missing_contacts(team)
    assert len(missing) == 3  # escalation contact, doctor, duty phone
    alerts_escalate(now=START + timedelta(minutes=30))
    html = as_user(team_admin).get(reverse("team_settings", args=[team.pk])).content.decode()
    assert 'id="missing-contacts"' in html
    assert "No escalation contact" in html
    assert "No on-call doctor" in html
    assert "No phone for the nurse on duty" in html
    assert "escalation 1.2" in html


def test_a_team_with_every_contact_has_nothing_missing(team):
    team.duty_phone = team.escalation_phone = team.on_call_doctor_phone = "07700 900123"
    team.save()
    assert team_missing_contacts(team) == []
