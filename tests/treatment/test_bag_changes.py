"""Bag changes (treatment/bag_changes.py): when one is due, who may record one, one row per
change however often it is sent, cancelling a wrong one.

clinical-rules.md, "Treatment calendar and bag changes": cycles of 42 days (infusion days
1-28), bag duration 24/48/72/96/168 h, "the next one is due one bag duration later", bag
changes only on infusion days. Times are written as UTC instants; London is BST (UTC+1)
from 30 March to 26 October 2025.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from accounts.models import Patient, Role
from tests.factories import CaregiverLinkFactory, PatientFactory, StaffFactory, UserFactory
from treatment import bag_changes
from treatment.bag_changes import (
    BagChangeNotAllowed,
    BagChangeRefused,
    bag_change_cancel,
    bag_change_due,
    bag_change_record,
    bag_changes_due,
    may_record_bag_change,
    next_bag_change,
)
from treatment.models import BagChange, ChangedBy, TreatmentCycle, TreatmentPlan


def at(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def plan_for(patient: Patient, *, start: date, bag_hours: int | None = 48,
             usual: time | None = time(9), changed_by: str = ChangedBy.DAY_UNIT,
             cycles: int = 2, later: dict[int, date] | None = None) -> TreatmentPlan:
    """The patient's plan (made or replaced): cycle 1 from `start`, `later` cycle rows."""
    plan, _ = TreatmentPlan.objects.update_or_create(patient=patient, defaults={
        "planned_cycles": cycles, "bag_hours": bag_hours, "usual_change_time": usual,
        "changed_by": changed_by})
    TreatmentCycle.objects.filter(plan=plan).delete()
    TreatmentCycle.objects.create(plan=plan, number=1, start_date=start)
    for number, day in (later or {}).items():
        TreatmentCycle.objects.create(plan=plan, number=number, start_date=day)
    return plan


def skip_unless_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("two connections at once need PostgreSQL (SQLite's test database is "
                    "one in-memory connection)")


def at_once(work, count: int = 2) -> list:
    """Run `work` in `count` threads released together (each on its own database
    connection); their results, in the order they finished."""
    barrier = threading.Barrier(count)
    results = []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(work())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def change(patient, by, when: datetime) -> BagChange:
    return bag_change_record(patient=patient, by=by, changed_at=when, now=when)[0]


# When a bag change is due -------------------------------------------------------------------

def test_the_first_bag_is_due_one_bag_duration_after_the_cycle_starts(patient):
    plan_for(patient, start=date(2025, 6, 1), bag_hours=48, usual=time(9))
    # 09:00 BST on 1 June is 08:00 UTC; the first bag runs 48 hours.
    assert bag_change_due(patient, at(2025, 6, 1, 10)) == at(2025, 6, 3, 8)


@pytest.mark.parametrize("hours", [24, 48, 72, 96, 168])
def test_the_next_change_is_due_one_bag_duration_after_the_last(patient, nurse, hours):
    plan_for(patient, start=date(2025, 6, 1), bag_hours=hours)
    change(patient, nurse, at(2025, 6, 2, 13, 30))
    assert bag_change_due(patient, at(2025, 6, 2, 14)) == at(2025, 6, 2, 13, 30) + timedelta(
        hours=hours)


def test_a_late_change_moves_the_next_one(patient, nurse):
    plan_for(patient, start=date(2025, 6, 1), bag_hours=48)
    change(patient, nurse, at(2025, 6, 3, 11))  # three hours after it was due
    assert bag_change_due(patient, at(2025, 6, 3, 12)) == at(2025, 6, 5, 11)


def test_a_cancelled_change_does_not_count(patient, nurse):
    plan_for(patient, start=date(2025, 6, 1), bag_hours=48)
    wrong = change(patient, nurse, at(2025, 6, 3, 8))
    bag_change_cancel(bag_change=wrong, by=nurse, now=at(2025, 6, 3, 9))
    assert bag_change_due(patient, at(2025, 6, 3, 10)) == at(2025, 6, 3, 8)


def test_a_48_hour_bag_across_the_autumn_clock_change_is_48_real_hours(patient, nurse):
    plan_for(patient, start=date(2025, 10, 20), bag_hours=48)
    change(patient, nurse, at(2025, 10, 25, 8))  # 09:00 BST on Saturday
    due = bag_change_due(patient, at(2025, 10, 25, 9))
    # Clocks go back at 01:00 UTC on Sunday 26 October: 48 real hours later is 08:00 GMT
    # on Monday, not the wall-clock 09:00.
    assert due == at(2025, 10, 27, 8)
    assert due.astimezone(patient.tz).hour == 8


def test_a_24_hour_bag_across_the_spring_clock_change_is_24_real_hours(patient):
    plan_for(patient, start=date(2025, 3, 29), bag_hours=24, usual=time(9))
    # 09:00 GMT on 29 March; clocks go forward at 01:00 UTC on 30 March.
    due = bag_change_due(patient, at(2025, 3, 29, 10))
    assert due == at(2025, 3, 30, 9)
    assert due.astimezone(patient.tz).hour == 10


def test_a_cycle_that_starts_late_counts_from_its_own_start(patient, nurse):
    # Cycle 2 would start on 13 May (42 days after 1 April); it starts a week late.
    plan_for(patient, start=date(2025, 4, 1), bag_hours=48, later={2: date(2025, 5, 20)})
    change(patient, nurse, at(2025, 4, 27, 8))  # cycle 1, day 27
    assert bag_change_due(patient, at(2025, 5, 16, 12)) is None  # a longer break
    assert bag_change_due(patient, at(2025, 5, 20, 7)) == at(2025, 5, 22, 8)


@pytest.mark.parametrize("moment", [
    at(2025, 6, 29, 8, 30),  # day 29, after the infusion ended at 09:00 BST
    at(2025, 7, 5, 12),  # day 35
    at(2025, 5, 31, 12),  # before cycle 1
    at(2025, 9, 30, 12),  # after the last planned cycle's break
])
def test_no_bag_is_due_outside_the_infusion_days(patient, moment):
    plan_for(patient, start=date(2025, 6, 1), cycles=2)
    assert bag_change_due(patient, moment) is None


def test_a_change_due_after_the_infusion_ends_is_not_a_change(patient, nurse):
    plan_for(patient, start=date(2025, 6, 1), bag_hours=48)
    change(patient, nurse, at(2025, 6, 27, 10))  # day 27; 48 h later is past day 28
    assert bag_change_due(patient, at(2025, 6, 27, 11)) is None


def test_a_plan_without_bag_hours_has_no_due_time(patient):
    plan_for(patient, start=date(2025, 6, 1), bag_hours=None)
    assert bag_change_due(patient, at(2025, 6, 2, 12)) is None


def test_without_a_usual_time_only_a_recorded_change_gives_a_due_time(patient, nurse):
    plan_for(patient, start=date(2025, 6, 1), usual=None)
    assert bag_change_due(patient, at(2025, 6, 1, 12)) is None
    change(patient, nurse, at(2025, 6, 1, 12))
    assert bag_change_due(patient, at(2025, 6, 1, 13)) == at(2025, 6, 3, 12)


def test_a_patient_without_a_plan_has_no_due_time(team):
    patient = PatientFactory(care_team=team)
    TreatmentPlan.objects.filter(patient=patient).delete()
    assert bag_change_due(patient, at(2025, 6, 2, 12)) is None


def test_next_bag_change_says_when_and_whether_it_is_late(patient, nurse):
    plan_for(patient, start=date(2025, 6, 1), bag_hours=48)
    made = change(patient, nurse, at(2025, 6, 3, 8))
    soon = next_bag_change(patient, at(2025, 6, 4, 12))
    assert (soon.due_at, soon.late, soon.last) == (at(2025, 6, 5, 8), False, made)
    assert next_bag_change(patient, at(2025, 6, 5, 9)).late is True


def test_due_times_of_many_patients_take_the_same_queries_for_5_and_50(team, nurse):
    counts = []
    for size in (5, 50):
        made = [PatientFactory(care_team=team) for _ in range(size)]
        for patient in made:
            plan_for(patient, start=date(2025, 6, 1))
        change(made[0], nurse, at(2025, 6, 2, 8))
        with CaptureQueriesContext(connection) as ctx:
            due = bag_changes_due(made, at(2025, 6, 2, 12))
        counts.append(len(ctx.captured_queries))
        assert len(due) == size
        assert due[made[0].pk] == at(2025, 6, 4, 8)
        assert due[made[1].pk] == at(2025, 6, 3, 8)
    assert counts[0] == counts[1] == 3, counts


# Who may record -------------------------------------------------------------------------------

@pytest.fixture
def trained(child):
    return plan_for(child, start=date(2025, 6, 1), changed_by=ChangedBy.TRAINED_CAREGIVER)


def test_staff_of_the_team_always_record(child, nurse, clinician):
    plan_for(child, start=date(2025, 6, 1), changed_by=ChangedBy.DAY_UNIT)
    assert may_record_bag_change(nurse, child)
    assert may_record_bag_change(clinician, child)


def test_a_team_admin_and_staff_of_another_team_do_not(child, team_admin, other_team_nurse):
    plan_for(child, start=date(2025, 6, 1))
    assert not may_record_bag_change(team_admin, child)
    assert not may_record_bag_change(other_team_nurse, child)


def test_a_caregiver_records_only_when_the_plan_says_a_trained_caregiver_changes_it(
        child, caregiver):
    plan_for(child, start=date(2025, 6, 1), changed_by=ChangedBy.HOME_NURSE)
    with pytest.raises(BagChangeNotAllowed, match="changed by a home nurse"):
        bag_change_record(patient=child, by=caregiver, now=at(2025, 6, 2, 9))
    assert not BagChange.objects.exists()
    plan_for(child, start=date(2025, 6, 1), changed_by=ChangedBy.TRAINED_CAREGIVER)
    row, created = bag_change_record(patient=child, by=caregiver, now=at(2025, 6, 2, 9))
    assert created
    assert row.recorded_by == caregiver


def test_a_caregiver_without_logging_rights_may_not(trained, child):
    viewer = CaregiverLinkFactory(patient=child, may_log=False).caregiver
    assert not may_record_bag_change(viewer, child)


def test_an_adult_patient_records_their_own_when_trained(patient):
    plan_for(patient, start=date(2025, 6, 1), changed_by=ChangedBy.TRAINED_CAREGIVER)
    assert may_record_bag_change(patient.user, patient, at(2025, 6, 2, 9))
    plan_for(patient, start=date(2025, 6, 1), changed_by=ChangedBy.DAY_UNIT)
    assert not may_record_bag_change(patient.user, patient, at(2025, 6, 2, 9))


def test_a_child_with_their_own_login_does_not(team):
    young = PatientFactory(care_team=team, date_of_birth=date(2015, 3, 1),
                           user=UserFactory(role=Role.PATIENT))
    plan_for(young, start=date(2025, 6, 1), changed_by=ChangedBy.TRAINED_CAREGIVER)
    assert not may_record_bag_change(young.user, young, at(2025, 6, 2, 9))


# One row per change -------------------------------------------------------------------------

def test_a_double_tap_records_one_bag_change(trained, child, caregiver):
    first, created = bag_change_record(patient=child, by=caregiver, now=at(2025, 6, 2, 9))
    again, created_again = bag_change_record(patient=child, by=caregiver,
                                             now=at(2025, 6, 2, 9, 0) + timedelta(seconds=1))
    assert (created, created_again) == (True, False)
    assert again == first
    assert BagChange.objects.count() == 1


def test_a_nurse_recording_the_same_change_later_makes_no_second_row(trained, child,
                                                                     caregiver, nurse):
    bag_change_record(patient=child, by=caregiver, now=at(2025, 6, 2, 9))
    row, created = bag_change_record(patient=child, by=nurse, changed_at=at(2025, 6, 2, 9, 20),
                                     now=at(2025, 6, 2, 10))
    assert not created
    assert row.recorded_by == caregiver


def test_the_next_change_two_days_later_is_a_new_row(trained, child, caregiver):
    bag_change_record(patient=child, by=caregiver, now=at(2025, 6, 2, 9))
    _, created = bag_change_record(patient=child, by=caregiver, now=at(2025, 6, 4, 9))
    assert created
    assert BagChange.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_taps_at_once_make_one_row_on_postgresql(team):
    skip_unless_postgresql()
    nurse = StaffFactory(team=team)
    patient = PatientFactory(care_team=team)
    plan_for(patient, start=date(2025, 6, 1))
    results = at_once(lambda: bag_change_record(patient=patient, by=nurse,
                                                now=at(2025, 6, 2, 9))[1])
    assert sorted(results) == [False, True]
    assert BagChange.objects.filter(patient=patient).count() == 1


# Refusals ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("changed_at", "words"), [
    (at(2025, 6, 2, 9, 6), "is in the future"),
    (at(2025, 6, 1, 20, 59), "more than 12 hours ago"),
])
def test_a_changed_at_out_of_bounds_is_refused_naming_the_field(trained, child, caregiver,
                                                               changed_at, words):
    with pytest.raises(BagChangeRefused, match=words) as refused:
        bag_change_record(patient=child, by=caregiver, changed_at=changed_at,
                          now=at(2025, 6, 2, 9))
    assert refused.value.field == "changed_at"
    assert str(refused.value).startswith("Changed at:")
    assert not BagChange.objects.exists()


def test_a_time_a_few_minutes_ahead_and_twelve_hours_back_are_accepted(trained, child,
                                                                      caregiver):
    row, _ = bag_change_record(patient=child, by=caregiver, changed_at=at(2025, 6, 2, 9, 5),
                               now=at(2025, 6, 2, 9))
    assert row.changed_at == at(2025, 6, 2, 9, 5)
    row, _ = bag_change_record(patient=child, by=caregiver, changed_at=at(2025, 6, 3, 21),
                               now=at(2025, 6, 4, 9))
    assert row.changed_at == at(2025, 6, 3, 21)


def test_a_note_with_a_control_character_is_refused(trained, child, caregiver):
    with pytest.raises(BagChangeRefused) as refused:
        bag_change_record(patient=child, by=caregiver, note="a\x00b", now=at(2025, 6, 2, 9))
    assert refused.value.field == "note"
    assert not BagChange.objects.exists()


# Cancelling ---------------------------------------------------------------------------------

def test_a_nurse_cancels_a_wrong_record_and_it_is_kept_with_who(trained, child, caregiver,
                                                                nurse):
    row = change(child, caregiver, at(2025, 6, 2, 9))
    bag_change_cancel(bag_change=row, by=nurse, now=at(2025, 6, 2, 10))
    row.refresh_from_db()
    assert (row.cancelled_by, row.cancelled_at) == (nurse, at(2025, 6, 2, 10))
    assert row.recorded_by == caregiver


def test_a_caregiver_may_not_cancel(trained, child, caregiver):
    row = change(child, caregiver, at(2025, 6, 2, 9))
    with pytest.raises(BagChangeNotAllowed):
        bag_change_cancel(bag_change=row, by=caregiver)
    row.refresh_from_db()
    assert row.cancelled_at is None


def test_after_a_cancel_the_same_change_can_be_recorded_again(trained, child, caregiver,
                                                              nurse):
    row = change(child, caregiver, at(2025, 6, 2, 9))
    bag_change_cancel(bag_change=row, by=nurse, now=at(2025, 6, 2, 9, 10))
    _, created = bag_change_record(patient=child, by=caregiver, changed_at=at(2025, 6, 2, 8, 30),
                                   now=at(2025, 6, 2, 9, 15))
    assert created
    assert bag_changes.bag_change_due(child, at(2025, 6, 2, 9, 20)) == at(2025, 6, 4, 8, 30)
