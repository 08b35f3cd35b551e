"""The ICE and CAPD baselines (clinical-rules.md "The neurological self-check"): set by a
nurse of the team on the patient's Thresholds page, with a reason, within triage's limits,
audited like every threshold, and the history reads in words."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import Patient
from symptoms import services
from symptoms.models import ThresholdChange
from symptoms.thresholds import ruleset_for_patient
from tests.nursing.test_patient_thresholds import DEFAULT_FORM
from triage.catalogue import OVERRIDE_LIMITS

pytestmark = pytest.mark.django_db


def post(client, patient, **changes):
    return client.post(reverse("patient_thresholds", args=[patient.pk]),
                       {**DEFAULT_FORM, "ice_baseline": "", "capd_baseline": "", **changes})


def test_a_nurse_sets_the_ice_baseline_with_a_reason_and_it_judges_the_next_check_in(
    as_user, nurse, patient
):
    response = post(as_user(nurse), patient, ice_baseline="8",
                    reason="Speaks little English: scores 8 when well")
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.thresholds == {"ice_baseline": 8}
    assert ruleset_for_patient(patient).ice_baseline == 8
    change = ThresholdChange.objects.get()
    assert (change.changed_by, change.old, change.new) == (nurse, {}, {"ice_baseline": 8})
    assert change.reason == "Speaks little English: scores 8 when well"


def test_the_history_reads_in_words(as_user, nurse, patient):
    client = as_user(nurse)
    post(client, patient, ice_baseline="8", reason="Language: scores 8 when well")
    post(client, patient, ice_baseline="7", capd_baseline="", reason="Reassessed by OT")
    page = client.get(reverse("patient_thresholds", args=[patient.pk]))
    body = page.content.decode()
    assert "ICE baseline (points, age 12 and over): the team&#x27;s value → 8" in body
    assert "ICE baseline (points, age 12 and over): 8 → 7" in body
    assert "Reassessed by OT" in body
    # No stored mapping is shown as such.
    assert "{&#x27;ice_baseline&#x27;" not in body
    assert "before {" not in body


def test_the_capd_baseline_is_set_and_shown_in_words(as_user, clinician, child):
    client = as_user(clinician)
    assert post(client, child, capd_baseline="4",
                reason="Developmental delay: CAPD 4 when well").status_code == 302
    child.refresh_from_db()
    assert child.thresholds == {"capd_baseline": 4}
    body = client.get(reverse("patient_thresholds", args=[child.pk])).content.decode()
    assert "CAPD baseline (points, under 12): the team&#x27;s value → 4" in body


def assert_nothing_saved(response, patient, field):
    """Refused with the error on `field`'s own box (marked invalid on the page), nothing
    stored, nothing audited; returns the field's messages."""
    assert response.status_code == 400
    errors = response.context["form"].errors[field]
    assert errors
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', response.content.decode())
    patient.refresh_from_db()
    assert patient.thresholds == {}
    assert not ThresholdChange.objects.exists()
    return errors


@pytest.mark.parametrize(("field", "value"), [
    ("ice_baseline", "11"),   # above the score's maximum
    ("ice_baseline", "2"),    # below triage's limit: 2 or less is an emergency anyway
    ("ice_baseline", "-1"),
    ("capd_baseline", "9"),   # at 9 CAPD is red whatever the baseline
    ("capd_baseline", "6"),   # the rise of 3 could never fire before 9
    ("ice_baseline", "8.5"),  # whole points only, never rounded
])
def test_a_baseline_out_of_limits_is_refused_on_its_field_nothing_saved(
    as_user, nurse, patient, field, value
):
    response = post(as_user(nurse), patient, reason="try", **{field: value})
    errors = assert_nothing_saved(response, patient, field)
    label = {"ice_baseline": "ICE baseline", "capd_baseline": "CAPD baseline"}[field]
    assert all(message.startswith(label) for message in errors), errors


def test_the_limits_shown_are_triages(as_user, nurse, patient):
    form = as_user(nurse).get(reverse("patient_thresholds", args=[patient.pk])).context["form"]
    for name in ("ice_baseline", "capd_baseline"):
        limit = OVERRIDE_LIMITS[name]
        assert f"allowed {limit.minimum} to {limit.maximum}" in form[name].help_text


def test_a_baseline_without_a_reason_is_refused(as_user, nurse, patient):
    response = post(as_user(nurse), patient, ice_baseline="8", reason="   ")
    assert_nothing_saved(response, patient, "reason")


def test_another_teams_nurse_gets_404_and_changes_nothing(as_user, other_team_nurse, patient):
    response = post(as_user(other_team_nurse), patient, ice_baseline="8", reason="x")
    assert response.status_code == 404
    assert as_user(other_team_nurse).get(
        reverse("patient_thresholds", args=[patient.pk])).status_code == 404
    assert Patient.objects.get(pk=patient.pk).thresholds == {}


def test_a_threshold_the_page_has_no_box_for_is_kept_on_save(as_user, nurse, patient):
    # Set through the service (as the admin site does): the page must not drop it unseen.
    services.thresholds_set(changed_by=nurse, reason="Consultant", patient=patient,
                            overrides={"masked_low_c": "36.8"})
    response = post(as_user(nurse), patient, ice_baseline="9", reason="Usual score 9")
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.thresholds == {"masked_low_c": "36.8", "ice_baseline": 9}
    body = as_user(nurse).get(reverse("patient_thresholds", args=[patient.pk])).content.decode()
    assert "Masked fever: amber from (°C, after an antipyretic): the team&#x27;s value → 36.8" \
        in body
