"""The nurse's timeline of one patient, and the queries it costs."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from symptoms import services
from triage.validation import parse_check_in

pytestmark = pytest.mark.django_db


def record(patient, by, when, **data):
    return services.check_in_record(
        patient=patient, recorded_by=by, submission_key=uuid.uuid4(),
        data=parse_check_in({"recorded_at": when.isoformat(), **data}),
    )[0]


def test_timeline_shows_chart_heatmap_and_changes(as_user, nurse, patient):
    now = timezone.now()
    record(patient, patient.user, now - timedelta(days=1), temperature_c=36.9,
           symptoms={"nausea": 1})
    record(patient, patient.user, now - timedelta(hours=1), temperature_c=37.8,
           symptoms={"nausea": 3, "cough": 1})
    page = as_user(nurse).get(reverse("patient_timeline", args=[patient.pk]))
    assert page.status_code == 200
    ctx = page.context
    assert [p["c"] for p in ctx["chart"]["points"]] == [36.9, 37.8]
    labels = [row.label for row in ctx["heat_rows"]]
    assert labels == ["Cough", "Nausea"]  # catalogue order
    nausea = next(r for r in ctx["heat_rows"] if r.label == "Nausea")
    assert [g for g in nausea.cells if g is not None] == [1, 3]
    assert any("36.9 → 37.8" in change for change in ctx["changes"])
    assert any("mild → severe" in change for change in ctx["changes"])


def test_patients_and_caregivers_do_not_get_the_staff_timeline(as_user, patient, caregiver,
                                                               child):
    assert as_user(patient.user).get(
        reverse("patient_timeline", args=[patient.pk])).status_code == 404
    assert as_user(caregiver).get(
        reverse("patient_timeline", args=[child.pk])).status_code == 404


def _fill(patient, count):
    from symptoms.models import CheckIn

    now = timezone.now()
    CheckIn.objects.bulk_create([
        CheckIn(patient=patient, recorded_by=patient.user, recorded_as="patient",
                recorded_at=now - timedelta(hours=n * 3), temperature_c="36.8",
                symptoms={"nausea": n % 4, "cough": 1}, severity="green",
                rules_version="v1", submission_key=uuid.uuid4())
        for n in range(count)
    ])


@pytest.mark.parametrize("count", [5, 200])
def test_timeline_runs_a_fixed_number_of_queries(as_user, nurse, patient, count,
                                                 django_assert_num_queries):
    _fill(patient, count)
    # One real red check-in, so the alerts and their messages are on the page too.
    record(patient, patient.user, timezone.now(), temperature_c=38.4)
    client = as_user(nurse)
    url = reverse("patient_timeline", args=[patient.pk])
    client.get(url)  # warm the session
    # The same number at 5 and at 200 check-ins: nothing is fetched per row.
    with django_assert_num_queries(QUERIES_PER_TIMELINE):
        assert client.get(url).status_code == 200


QUERIES_PER_TIMELINE = 18  # the neurological self-checks' trend: one more; the plan: one
