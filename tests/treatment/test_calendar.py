"""treatment/calendar.py: positions from the plan's rows (clinical-rules.md, "Treatment
calendar and bag changes"), pure functions first, then the readers' query counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from treatment.calendar import (
    BREAK_DAYS,
    CYCLE_DAYS,
    INFUSION_DAYS,
    Position,
    infusion_days,
    schedule_from_rows,
)

START = date(2026, 1, 5)


def at(days: int) -> date:
    return START + timedelta(days=days)


def test_the_phase_lengths_come_from_one_place():
    assert (INFUSION_DAYS, BREAK_DAYS, CYCLE_DAYS) == (28, 14, 42)


def test_no_cycle_1_row_means_no_schedule():
    assert schedule_from_rows(2, []) is None
    assert schedule_from_rows(2, [(2, START)]) is None


@pytest.mark.parametrize(("offset", "text"), [
    (0, "cycle 1, infusion day 1 of 28"),
    (11, "cycle 1, infusion day 12 of 28"),
    (27, "cycle 1, infusion day 28 of 28"),
    (28, "cycle 1, break, day 1 of 14"),
    (41, "cycle 1, break, day 14 of 14"),
    (42, "cycle 2, infusion day 1 of 28"),
    (42 + 11, "cycle 2, infusion day 12 of 28"),
    (42 + 28 + 4, "cycle 2, break, day 5 of 14"),
    (83, "cycle 2, break, day 14 of 14"),
])
def test_cycles_without_rows_follow_every_42_days(offset, text):
    plan = schedule_from_rows(2, [(1, START)])
    assert plan.position(at(offset)).text == text


def test_none_before_cycle_1_and_after_the_last_planned_break():
    plan = schedule_from_rows(2, [(1, START)])
    assert plan.position(at(-1)) is None
    assert plan.position(at(84)) is None
    assert plan.end == at(83)


def test_a_late_cycle_makes_the_break_before_it_longer_and_says_when_it_starts():
    late = date(2026, 3, 5)  # 59 days after 5 January: 17 more days of break
    plan = schedule_from_rows(3, [(1, START), (2, late)])
    day_17 = plan.position(at(28 + 16))
    assert day_17 == Position(1, "break", 17, 14, START, late)
    assert day_17.text == "cycle 1, break, day 17; cycle 2 starts 5 March"
    assert "of 14" not in day_17.text
    assert plan.position(at(28 + 4)).text == "cycle 1, break, day 5; cycle 2 starts 5 March"
    assert plan.position(late).text == "cycle 2, infusion day 1 of 28"
    # Cycle 3 has no row: 42 days after the late cycle 2, not after the planned one.
    assert plan.cycle_start(3) == late + timedelta(days=42)
    assert plan.position(late + timedelta(days=42)).text == "cycle 3, infusion day 1 of 28"


def test_rows_above_the_planned_cycles_are_ignored_and_cycles_capped_at_5():
    plan = schedule_from_rows(1, [(1, START), (2, at(50))])
    assert plan.planned_cycles == 1
    assert plan.position(at(50)) is None
    assert schedule_from_rows(9, [(1, START)]).planned_cycles == 5


def test_infusion_days_skip_the_break():
    plan = schedule_from_rows(2, [(1, START)])
    assert infusion_days(plan, at(26), at(29)) == [at(26), at(27)]
    assert infusion_days(plan, at(40), at(43)) == [at(42), at(43)]
    assert infusion_days(None, at(0), at(3)) == []
    assert plan.on_infusion(at(27))
    assert not plan.on_infusion(at(28))


# Readers --------------------------------------------------------------------------------

def _plan(patient, cycles: int, *starts: tuple[int, date]):
    from treatment.models import TreatmentCycle, TreatmentPlan

    plan = TreatmentPlan.objects.update_or_create(patient=patient,
                                                  defaults={"planned_cycles": cycles})[0]
    plan.cycles.all().delete()
    for number, start in starts:
        TreatmentCycle.objects.create(plan=plan, number=number, start_date=start)
    return plan


def test_positions_take_one_query_however_many_patients(db, django_assert_num_queries):
    from tests.factories import PatientFactory
    from treatment.calendar import positions

    patients = [PatientFactory() for _ in range(6)]
    for i, patient in enumerate(patients[:5]):
        _plan(patient, 2, (1, START - timedelta(days=i * 10)))
    with django_assert_num_queries(1):
        found = positions(patients[:2], at(3))
    with django_assert_num_queries(1):
        found = positions(patients, at(3))
    assert found[patients[0].pk].text == "cycle 1, infusion day 4 of 28"
    assert found[patients[3].pk].text == "cycle 1, break, day 6 of 14"  # day 34
    assert found[patients[5].pk] is None  # no plan yet


def test_schedules_between_finds_late_cycles_and_skips_finished_plans(db):
    from tests.factories import PatientFactory
    from treatment.calendar import schedules_between

    late, finished, future = PatientFactory(), PatientFactory(), PatientFactory()
    # Cycle 1 a year ago, cycle 2 started late, yesterday: on infusion today.
    _plan(late, 2, (1, at(-365)), (2, at(-1)))
    _plan(finished, 1, (1, at(-365)))
    _plan(future, 1, (1, at(30)))
    found = schedules_between(at(0), at(1))
    assert late.pk in found
    assert found[late.pk].on_infusion(at(0))
    assert finished.pk not in found
    assert future.pk not in found


def test_next_visit_skips_cancelled_and_past_visits(db):
    from datetime import UTC, datetime

    from tests.factories import PatientFactory, StaffFactory
    from treatment.calendar import next_visit
    from treatment.models import ClinicVisit

    patient, nurse = PatientFactory(), StaffFactory()
    now = datetime(2026, 1, 10, 9, tzinfo=UTC)
    ClinicVisit.objects.create(patient=patient, added_by=nurse, starts_at=now - timedelta(hours=1))
    ClinicVisit.objects.create(patient=patient, added_by=nurse, starts_at=now + timedelta(days=1),
                               cancelled_at=now)
    kept = ClinicVisit.objects.create(patient=patient, added_by=nurse,
                                      starts_at=now + timedelta(days=2))
    assert next_visit(patient, now) == kept
