"""What alert emails and SMS say is the team's choice; the default names nobody (issue 11,
"Logs and messages"). Sent for real to an SMTP server on loopback; SMS to the in-memory
backend (the provider is the outside world)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from alerts.sweeps import alerts_escalate
from notifications.models import Delivery, Purpose
from notifications.outbox import delivery_send
from tests.alerts.conftest import record


@pytest.fixture
def red_alert(patient, patient_user, team):
    team.duty_phone = "07700 900123"
    team.save()
    record(patient, patient_user, temperature_c=39.4, pump="disconnected")
    return Alert.objects.get()


def send_all(purpose=Purpose.NOTICE):
    for row in Delivery.objects.filter(purpose=purpose).order_by("pk"):
        delivery_send(delivery_id=row.pk)


def everything_said(smtp, sms_outbox) -> list[str]:
    said = []
    for received in smtp.mailbox.received:
        message = received.message
        said += [message["Subject"], message.get_body(("plain",)).get_content(),
                 message.get_body(("html",)).get_content()]
    said += [sms.body for sms in sms_outbox]
    return said


def identifying(patient, team) -> list[str]:
    return [patient.initials, patient.hospital_number, team.name, "Sam", "Patel", "39.4",
            "emperature", "ump"]


def test_by_default_an_alert_says_only_that_it_needs_you_and_a_link(smtp, sms_outbox,
                                                                   red_alert, patient, team):
    assert team.alert_message_detail == "minimal"
    send_all()
    said = everything_said(smtp, sms_outbox)
    assert len(said) == 4  # subject, text, html, one SMS
    assert smtp.mailbox.received[0].message["Subject"] == "[Homeline] A RED alert needs you"
    link = f"https://homeline.example.org/alerts/{red_alert.pk}/"
    for words in said:
        assert link in words or words.startswith("[Homeline]")
        for secret in identifying(patient, team):
            assert secret not in words, (secret, words)
    assert "needs you" in sms_outbox[0].body
    # The sender comes first, set apart, so a glance at the lock screen reads it.
    assert sms_outbox[0].body.startswith("Homeline: ")


def test_an_escalation_says_no_more_by_default(smtp, sms_outbox, red_alert,
                                                             patient, team, unused_port,
                                                             settings):
    send_all()
    now = timezone.now()
    Alert.objects.filter(pk=red_alert.pk).update(escalation_from=now - timedelta(minutes=16),
                                                 escalation_due_at=now)
    alerts_escalate(now=now)
    send_all(Purpose.ESCALATION)
    said = everything_said(smtp, sms_outbox)
    assert any("ESCALATED" in words for words in said)
    for words in said:
        for secret in identifying(patient, team):
            assert secret not in words, (secret, words)


def test_the_identifiers_level_adds_initials_hospital_number_and_team(smtp, sms_outbox,
                                                                      red_alert, patient, team):
    team.alert_message_detail = "identifiers"
    team.save()
    send_all()
    subject = smtp.mailbox.received[0].message["Subject"]
    assert subject == f"[Homeline] RED alert: SP {patient.hospital_number}"
    text = smtp.mailbox.received[0].message.get_body(("plain",)).get_content()
    assert team.name in text
    assert "39.4" not in text
    assert patient.hospital_number in sms_outbox[0].body


def test_the_findings_level_adds_the_findings(smtp, sms_outbox, red_alert, team):
    team.alert_message_detail = "findings"
    team.save()
    send_all()
    text = smtp.mailbox.received[0].message.get_body(("plain",)).get_content()
    assert "39.4" in text


def test_the_team_admin_chooses_the_level_on_the_team_settings_page(team, team_admin, as_user):
    client = as_user(team_admin)
    url = reverse("team_settings", args=[team.pk])
    form = client.get(url).context["form"]
    data = {name: ("" if value is None else value)
            for name, value in form.initial.items() if name in form.fields}
    data["check_in_cutoff"] = "20:00"
    data["alert_message_detail"] = "identifiers"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    team.refresh_from_db()
    assert team.alert_message_detail == "identifiers"
    assert team.history.latest().alert_message_detail == "identifiers"  # audited


def test_an_amber_alert_by_default(smtp, patient, patient_user):
    record(patient, patient_user, symptoms={"headache": 2})
    send_all()
    assert smtp.mailbox.received[0].message["Subject"] == "[Homeline] An AMBER alert needs you"
