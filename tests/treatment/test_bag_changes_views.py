"""The bag change page (treatment/bag_change_views.py): one tap records, a double tap is one
row, who may not record is told who does (403), a bad time names the field (400), staff
cancel a wrong record, another family's or team's patient is a 404, staff reads are logged."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from accounts.models import AccessLog
from tests.conftest import verified_client
from tests.factories import PatientFactory
from tests.treatment.test_bag_changes import plan_for
from treatment.models import BagChange, ChangedBy

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # 10:00 BST, infusion day 2


@pytest.fixture
def trained(child):
    plan_for(child, start=date(2025, 6, 1), changed_by=ChangedBy.TRAINED_CAREGIVER)
    return child


def post(user, patient, data=None, *, name="bag_changes", moment=NOW):
    with time_machine.travel(moment, tick=False):
        return verified_client(user).post(reverse(name, args=[patient.pk]), data or {})


def get(user, patient, moment=NOW):
    with time_machine.travel(moment, tick=False):
        return verified_client(user).get(reverse("bag_changes", args=[patient.pk]))


def test_the_trained_caregiver_sees_the_big_button_and_one_tap_records(trained, caregiver):
    page = get(caregiver, trained).content.decode()
    assert "Bag changed now" in page
    assert "Next bag change due at <strong>09:00</strong>" in page  # 1 June 09:00 + 48 h
    response = post(caregiver, trained)
    assert response.status_code == 302
    row = BagChange.objects.get()
    assert (row.changed_at, row.recorded_by, row.patient) == (NOW, caregiver, trained)


def test_a_double_tap_is_one_row_and_says_so(trained, caregiver):
    post(caregiver, trained)
    with time_machine.travel(NOW, tick=False):
        client = verified_client(caregiver)
        response = client.post(reverse("bag_changes", args=[trained.pk]), follow=True)
    assert BagChange.objects.count() == 1
    assert "already recorded at 10:00" in response.content.decode()


def test_an_earlier_time_is_read_on_the_patient_s_clock(trained, caregiver):
    post(caregiver, trained, {"changed_at": "2025-06-02T09:30", "note": "new line too"})
    row = BagChange.objects.get()
    assert row.changed_at == datetime(2025, 6, 2, 8, 30, tzinfo=UTC)
    assert row.note == "new line too"


def test_a_time_in_the_future_is_refused_naming_the_field(trained, caregiver):
    response = post(caregiver, trained, {"changed_at": "2025-06-02T11:00"})
    assert response.status_code == 400
    assert "Changed at: 02 Jun 11:00 is in the future" in response.content.decode()
    assert not BagChange.objects.exists()


def test_a_caregiver_of_a_day_unit_plan_is_told_who_records_it(child, caregiver):
    plan_for(child, start=date(2025, 6, 1), changed_by=ChangedBy.DAY_UNIT)
    page = get(caregiver, child).content.decode()
    assert "Bag changed now" not in page
    assert "changed by the day unit" in page
    response = post(caregiver, child)
    assert response.status_code == 403
    assert "changed by the day unit" in response.content.decode()
    assert not BagChange.objects.exists()


def test_another_family_and_another_team_get_a_404(trained, patient, other_team_nurse):
    assert post(patient.user, trained).status_code == 404
    assert post(other_team_nurse, trained).status_code == 404
    assert not BagChange.objects.exists()


def test_staff_record_whatever_the_plan_says_and_their_read_is_logged(child, nurse):
    plan_for(child, start=date(2025, 6, 1), changed_by=ChangedBy.DAY_UNIT)
    assert get(nurse, child).status_code == 200
    assert AccessLog.objects.filter(user=nurse, patient=child,
                                    action="view bag changes").exists()
    assert post(nurse, child).status_code == 302
    assert BagChange.objects.get().recorded_by == nurse


def test_a_nurse_cancels_a_wrong_record(trained, caregiver, nurse):
    post(caregiver, trained)
    row = BagChange.objects.get()
    response = post(nurse, trained, {"bag_change": str(row.pk)}, name="bag_change_cancel")
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.cancelled_by == nurse
    page = get(nurse, trained).content.decode()
    assert "it does not count" in page


def test_a_caregiver_cannot_cancel(trained, caregiver):
    post(caregiver, trained)
    row = BagChange.objects.get()
    response = post(caregiver, trained, {"bag_change": str(row.pk)}, name="bag_change_cancel")
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.cancelled_at is None


def test_cancel_refuses_a_missing_id_and_another_patient_s_record(trained, caregiver, nurse,
                                                                   team):
    response = post(nurse, trained, {"bag_change": "1_0"}, name="bag_change_cancel")
    assert response.status_code == 400
    other = PatientFactory(care_team=team)
    plan_for(other, start=date(2025, 6, 1))
    post(nurse, other)
    theirs = BagChange.objects.get(patient=other)
    response = post(nurse, trained, {"bag_change": str(theirs.pk)}, name="bag_change_cancel")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.cancelled_at is None
