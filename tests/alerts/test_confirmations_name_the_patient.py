"""Every acknowledge and resolve confirmation names the patient (name and hospital number)
and links back to the alert: after the queue refreshed, the nurse sees whose alert a click
acted on."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from alerts.models import Alert
from alerts.services import alert_acknowledge
from tests.alerts.conftest import record
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(patient, patient_user):
    record(patient, patient_user, temperature_c=38.5)
    return Alert.objects.get()


def confirmation(response) -> str:
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(texts) == 1
    return texts[0]


def names_the_patient_and_links(text: str, alert: Alert) -> None:
    assert f"{alert.patient.display_name} ({alert.patient.hospital_number})" in text
    assert f'<a href="/alerts/{alert.pk}/">open the alert</a>' in text


def test_acknowledge_names_the_patient(as_user, nurse, alert):
    response = as_user(nurse).post(reverse("alert_acknowledge", args=[alert.pk]),
                                   {"seen_version": alert.version, "next": "/alerts/"})
    text = confirmation(response)
    assert text.startswith("Acknowledged: escalation has stopped for")
    names_the_patient_and_links(text, alert)


def test_resolve_names_the_patient(as_user, nurse, alert):
    response = as_user(nurse).post(reverse("alert_resolve", args=[alert.pk]),
                                   {"seen_version": alert.version, "outcome": "advice_given",
                                    "note": "advised"})
    text = confirmation(response)
    assert text.startswith("Resolved.")
    names_the_patient_and_links(text, alert)


def test_a_refused_acknowledge_names_the_patient_too(as_user, nurse, team, alert):
    colleague = StaffFactory(email="nurse2@example.org", full_name="Ola Other", team=team)
    alert_acknowledge(alert=alert, user=colleague, seen_version=alert.version)
    alert.refresh_from_db()
    response = as_user(nurse).post(reverse("alert_acknowledge", args=[alert.pk]),
                                   {"seen_version": alert.version})
    text = confirmation(response)
    assert text.startswith("Already acknowledged")
    names_the_patient_and_links(text, alert)


def test_a_patient_name_with_markup_is_escaped(as_user, nurse, alert):
    alert.patient.display_name = "<b>Sam</b>"
    alert.patient.save(update_fields=["display_name"])
    response = as_user(nurse).post(reverse("alert_acknowledge", args=[alert.pk]),
                                   {"seen_version": alert.version})
    text = confirmation(response)
    assert "&lt;b&gt;Sam&lt;/b&gt;" in text
    assert "<b>" not in text
