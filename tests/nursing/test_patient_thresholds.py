"""A nurse or clinician tightens one patient's thresholds, with a reason; it is audited."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from symptoms import services
from symptoms.models import CheckIn, ThresholdChange
from symptoms.thresholds import ruleset_for_patient
from triage.rules import OverridesRefused
from triage.validation import parse_check_in

pytestmark = pytest.mark.django_db

DEFAULT_FORM = {
    "fever_high_c": "", "temp_low_c": "", "spo2_red_below": "",
    "spo2_amber_below": "", "bp_low_below": "", "diarrhoea_amber": "",
    "diarrhoea_red": "", "vomiting_amber": "", "vomiting_red": "",
}


def post(client, patient, **changes):
    return client.post(reverse("patient_thresholds", args=[patient.pk]),
                       {**DEFAULT_FORM, **changes})


def test_clinician_lowers_the_fever_threshold_with_a_reason(as_user, clinician, patient):
    response = post(as_user(clinician), patient, fever_high_c="37.2",
                    reason="Neutropenic: consultant asked for 37.2")
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.thresholds == {"fever_high_c": "37.2"}
    change = ThresholdChange.objects.get()
    assert change.changed_by == clinician
    assert change.reason == "Neutropenic: consultant asked for 37.2"
    assert change.old == {}
    assert change.new == {"fever_high_c": "37.2"}
    # The next check-in is judged with it.
    check_in, _ = services.check_in_record(
        patient=patient, recorded_by=patient.user,
        data=parse_check_in({"temperature_c": 37.3}), submission_key=uuid.uuid4(),
    )
    assert check_in.severity == "red"


def test_nurse_makes_a_symptom_stricter(as_user, nurse, patient):
    post(as_user(nurse), patient, reason="History of seizures", headache__red="2",
         headache__amber="1")
    patient.refresh_from_db()
    assert ruleset_for_patient(patient).symptoms["headache"].red == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fever_high_c": "38.1"}, "fever_high_c"),
        ({"fever_high_c": "36.9"}, "fever_high_c"),
        ({"temp_low_c": "35.5"}, "temp_low_c"),
        ({"spo2_red_below": "88"}, "spo2_red_below"),
        ({"headache__red": "4"}, "headache__red"),
        ({"dizziness__amber": "2"}, "dizziness__amber"),
    ],
)
def test_loosening_beyond_the_limits_is_refused_on_the_field(as_user, nurse, patient, changes,
                                                             field):
    response = post(as_user(nurse), patient, reason="try", **changes)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    patient.refresh_from_db()
    assert patient.thresholds == {}
    assert not ThresholdChange.objects.exists()


def test_a_reason_is_required(as_user, nurse, patient):
    response = post(as_user(nurse), patient, fever_high_c="37.3", reason="")
    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    assert not ThresholdChange.objects.exists()


def test_team_admin_caregiver_and_other_team_cannot_change_thresholds(
    as_user, team_admin, caregiver, child, other_team_nurse, patient
):
    assert post(as_user(team_admin), patient, reason="x").status_code == 404
    assert post(as_user(caregiver), child, reason="x").status_code == 404
    assert post(as_user(other_team_nurse), patient, reason="x").status_code == 404
    assert not ThresholdChange.objects.exists()


def test_service_refuses_a_red_rule_removed(nurse, patient):
    with pytest.raises(OverridesRefused):
        services.thresholds_set(changed_by=nurse, reason="x", patient=patient,
                                overrides={"symptoms": {"seizure": {"red": None}}})


def test_every_change_keeps_the_previous_value(as_user, nurse, patient):
    client = as_user(nurse)
    post(client, patient, fever_high_c="37.3", reason="first")
    post(client, patient, fever_high_c="37.1", reason="second")
    latest = ThresholdChange.objects.order_by("-changed_at", "-pk").first()
    assert latest.old == {"fever_high_c": "37.3"}
    assert latest.new == {"fever_high_c": "37.1"}
    page = client.get(reverse("patient_thresholds", args=[patient.pk])).content.decode()
    assert "first" in page
    assert "second" in page
    assert not CheckIn.objects.exists()
