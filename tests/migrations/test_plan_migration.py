"""Issue 13: each patient's infusion start date and planned cycles, kept on the patient
until then, become a TreatmentPlan with a cycle 1 row (planned cycles capped at 5); a
patient without a start date gets no plan. Taken back, the columns get their values again.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.migrations.test_layout_migration import _leaves, _migrate
from treatment import calendar
from treatment.models import TreatmentPlan

BEFORE = [("accounts", "0005_careteam_alert_message_detail"), ("treatment", "0001_initial")]


@pytest.mark.django_db(transaction=True)
def test_patients_plans_move_into_treatment_and_back(team):
    old = _migrate(BEFORE)
    OldPatient = old.get_model("accounts", "Patient")
    common = {"care_team_id": team.pk, "date_of_birth": date(1980, 1, 1)}
    long = OldPatient.objects.create(display_name="Long", hospital_number="HN-1",
                                     infusion_start_date=date(2026, 1, 5), planned_cycles=12,
                                     **common)
    short = OldPatient.objects.create(display_name="Short", hospital_number="HN-2",
                                      infusion_start_date=date(2026, 2, 1), planned_cycles=2,
                                      **common)
    none = OldPatient.objects.create(display_name="None", hospital_number="HN-3",
                                     infusion_start_date=None, planned_cycles=1, **common)
    _migrate(_leaves())

    plans = {p.patient_id: p for p in TreatmentPlan.objects.all()}
    assert set(plans) == {long.pk, short.pk}
    assert (plans[long.pk].planned_cycles, plans[short.pk].planned_cycles) == (5, 2)
    assert calendar.schedules([long.pk])[long.pk].starts[0] == date(2026, 1, 5)
    assert list(plans[short.pk].cycles.values_list("number", "start_date")) == [
        (1, date(2026, 2, 1))]

    back = _migrate(BEFORE)
    OldPatient = back.get_model("accounts", "Patient")
    assert OldPatient.objects.get(pk=short.pk).infusion_start_date == date(2026, 2, 1)
    assert OldPatient.objects.get(pk=none.pk).infusion_start_date is None
    _migrate(_leaves())
    assert MigrationExecutor(connection).migration_plan(_leaves()) == []
