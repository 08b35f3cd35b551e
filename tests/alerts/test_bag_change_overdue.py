"""bag_change_overdue through the alert pipeline (alerts/bag_sweeps.py).

clinical-rules.md, "Treatment calendar and bag changes": on an infusion day, no bag change
recorded 1 h after one was due is amber to the team; still none 3 h after is red to the team
and the patient is told to call (an interruption of 4 h or more may need the infusion
restarted in hospital); the hours are team settings; recording a bag change resolves the
finding. "Alerts, grouping and escalation": one open alert per patient, re-paged only on a
rise.

The child's plan: cycle 1 from 1 June 2025, 48-hour bags changed at 14:00 (London, BST), so
the first change is due at 14:00 BST on 3 June = 13:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Patient, Role
from alerts.bag_sweeps import bag_change_overdue_sweep
from alerts.messages import message_for
from alerts.models import Alert, BagChangeOverdue
from alerts.reasons import delivery_reason_gone
from alerts.sweeps import sweep_run
from notifications.models import Delivery, Purpose
from tests.conftest import verified_client
from tests.factories import CaregiverLinkFactory, PatientFactory, StaffFactory, UserFactory
from tests.treatment.test_bag_changes import at_once, plan_for, skip_unless_postgresql
from treatment.bag_changes import bag_change_cancel, bag_change_record
from treatment.models import ChangedBy, TreatmentPlan
from treatment.services import PlanValues, plan_save

DUE = datetime(2025, 6, 3, 13, 0, tzinfo=UTC)  # 14:00 BST


def after(minutes: int) -> datetime:
    return DUE + timedelta(minutes=minutes)


def sweep(moment: datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return bag_change_overdue_sweep(now=moment)


def family_notices() -> list[tuple[str, str, str]]:
    return [(d.step, d.role, d.address) for d in
            Delivery.objects.filter(purpose=Purpose.REMINDER).order_by("pk")]


def team_pages() -> int:
    return Delivery.objects.filter(purpose=Purpose.NOTICE).count()


@pytest.fixture
def on_plan(child):
    plan_for(child, start=date(2025, 6, 1), bag_hours=48, usual=time(14),
             changed_by=ChangedBy.TRAINED_CAREGIVER)
    return child


def test_amber_one_hour_after_due_then_red_at_three_hours_each_once(on_plan, caregiver, team):
    assert sweep(after(59)) == 0
    assert not Alert.objects.exists()
    assert sweep(after(60)) == 1
    alert = Alert.objects.get()
    assert (alert.severity, alert.rules, alert.notices) == ("amber", ["bag_change_overdue"], 1)
    assert sweep(after(90)) == 0
    assert sweep(after(179)) == 0
    assert sweep(after(180)) == 1
    assert sweep(after(200)) == 0
    alert.refresh_from_db()
    # One alert, paged again once, on the rise to red.
    assert (alert.severity, alert.notices, Alert.objects.count()) == ("red", 2, 1)
    assert alert.red_rules == ["bag_change_overdue"]
    row = BagChangeOverdue.objects.get()
    assert (row.due_at, row.amber_at, row.red_at, row.alert) == (DUE, after(60), after(180),
                                                                 alert)
    assert family_notices() == [
        ("bag amber 2025-06-03T13:00Z", "caregiver", caregiver.email),
        ("bag red 2025-06-03T13:00Z", "caregiver", caregiver.email),
    ]


def test_a_plan_entered_on_day_5_pages_nobody_for_earlier_due_times(child, caregiver):
    """The plan is entered at 10:00 UTC on 5 June (day 5), no change recorded: the changes
    due on 3 June (and before) are not counted; the one due at 13:00 UTC that day is."""
    entered = datetime(2025, 6, 5, 10, 0, tzinfo=UTC)
    plan_save(patient=child, by=StaffFactory(team=child.care_team, role=Role.NURSE),
              now=entered, today=date(2025, 6, 5), values=PlanValues(
                  planned_cycles=1, cycle_starts=(date(2025, 6, 1),), bag_hours=48,
                  usual_change_time=time(14), changed_by=ChangedBy.TRAINED_CAREGIVER,
                  confirm_started=True))
    assert TreatmentPlan.objects.get(patient=child).bag_schedule_from == entered
    next_due = DUE + timedelta(hours=48)  # 5 June 14:00 BST
    assert sweep(entered + timedelta(seconds=1)) == 0
    assert sweep(next_due - timedelta(minutes=1)) == 0
    assert not Alert.objects.exists()
    assert not BagChangeOverdue.objects.exists()
    assert sweep(next_due + timedelta(minutes=60)) == 1
    assert Alert.objects.get().severity == "amber"
    assert sweep(next_due + timedelta(minutes=180)) == 1
    assert Alert.objects.get().severity == "red"
    assert BagChangeOverdue.objects.get().due_at == next_due


def test_changing_the_bag_duration_counts_due_times_from_the_change(on_plan, caregiver):
    """48 h bags from 1 June, none recorded; on 4 June at 12:00 UTC staff change to 24 h:
    the due times 2 and 3 June are not paged, the next from the change (4 June 13:00) is."""
    changed = datetime(2025, 6, 4, 12, 0, tzinfo=UTC)
    plan_save(patient=on_plan, by=StaffFactory(team=on_plan.care_team, role=Role.NURSE),
              now=changed, today=date(2025, 6, 4), values=PlanValues(
                  planned_cycles=2, cycle_starts=(date(2025, 6, 1),), bag_hours=24,
                  usual_change_time=time(14), changed_by=ChangedBy.TRAINED_CAREGIVER))
    assert sweep(changed + timedelta(minutes=30)) == 0
    assert sweep(datetime(2025, 6, 4, 14, 0, tzinfo=UTC)) == 1
    assert BagChangeOverdue.objects.get().due_at == datetime(2025, 6, 4, 13, 0, tzinfo=UTC)


def test_a_sweep_after_an_outage_goes_straight_to_red(on_plan, caregiver):
    assert sweep(after(200)) == 1
    assert Alert.objects.get().severity == "red"
    assert [step for step, *_ in family_notices()] == ["bag red 2025-06-03T13:00Z"]
    assert sweep(after(210)) == 0


def test_recording_the_change_ends_the_rises_and_the_alert_stays_for_a_nurse(
        on_plan, caregiver):
    sweep(after(60))
    bag_change_record(patient=on_plan, by=caregiver, changed_at=after(85), now=after(90))
    row = BagChangeOverdue.objects.get()
    assert row.done_at is not None
    assert row.bag_change.recorded_by == caregiver
    assert sweep(after(180)) == 0
    assert sweep(after(300)) == 0
    alert = Alert.objects.get()
    assert (alert.severity, alert.state) == ("amber", "open")
    with time_machine.travel(after(300), tick=False):  # the same day: times without a date
        lines = Template(
            "{% load tz bag_overdue %}{% timezone 'Europe/London' %}"
            "{% bag_overdue_by_alert alert as rows %}{% bag_overdue_lines rows alert %}"
            "{% endtimezone %}").render(Context({"alert": alert}))
    assert "Bag change overdue since 14:00 (amber at 15:00)" in lines
    assert f"bag change recorded at 15:25 by {caregiver.full_name}" in lines


def test_the_next_change_is_watched_from_the_recorded_time(on_plan, caregiver):
    bag_change_record(patient=on_plan, by=caregiver, changed_at=after(30), now=after(30))
    assert sweep(after(90)) == 0
    next_due = after(30) + timedelta(hours=48)
    assert sweep(next_due + timedelta(minutes=60)) == 1
    assert BagChangeOverdue.objects.get().due_at == next_due


def test_cancelling_a_wrong_record_watches_the_late_change_again(on_plan, caregiver, nurse):
    sweep(after(60))
    wrong, _ = bag_change_record(patient=on_plan, by=caregiver, now=after(70))
    bag_change_cancel(bag_change=wrong, by=nurse, now=after(100))
    assert BagChangeOverdue.objects.get().done_at is None
    assert sweep(after(180)) == 1
    assert Alert.objects.get().severity == "red"


def test_the_minutes_are_the_team_s_settings(on_plan, team):
    team.thresholds = {"bag_overdue_amber_minutes": 30, "bag_overdue_red_minutes": 120}
    team.save()
    assert sweep(after(29)) == 0
    assert sweep(after(30)) == 1
    assert sweep(after(120)) == 1
    assert Alert.objects.get().severity == "red"


def test_nothing_on_a_break_day(on_plan):
    plan_for(on_plan, start=date(2025, 5, 1), bag_hours=48, usual=time(14))
    # 3 June is day 34 of cycle 1: a break; no bag, nothing overdue.
    assert sweep(after(200)) == 0
    assert not BagChangeOverdue.objects.exists()


def test_nothing_without_bag_hours_in_the_plan(on_plan):
    plan_for(on_plan, start=date(2025, 6, 1), bag_hours=None, usual=time(14))
    assert sweep(after(200)) == 0
    assert not Alert.objects.exists()


def test_an_open_alert_from_a_check_in_is_raised_not_doubled(on_plan, caregiver):
    from tests.alerts.conftest import record

    with time_machine.travel(after(10), tick=False):
        record(on_plan, caregiver, symptoms={"headache": 2})
    assert Alert.objects.get().severity == "amber"
    assert sweep(after(60)) == 1
    alert = Alert.objects.get()
    # Amber into amber: folded in, a new rule but no rise, so no second page.
    assert (alert.rules, alert.notices) == (["headache", "bag_change_overdue"], 1)
    sweep(after(180))
    alert.refresh_from_db()
    assert (alert.severity, alert.notices) == ("red", 2)


# What the family is told ---------------------------------------------------------------------

def test_the_red_notice_tells_the_family_to_call_the_24_hour_line(on_plan, caregiver, team):
    sweep(after(180))
    row = Delivery.objects.get(purpose=Purpose.REMINDER)
    assert (row.severity, row.user, row.channel) == ("red", caregiver, "email")
    message = message_for(row)
    expected = (f"The bag change due at 14:00 has not been recorded. If the bag has not been "
                f"changed, call {team.line_phone} now: an interruption of 4 hours or more may "
                "mean restarting the infusion in hospital.")
    assert expected in message.text
    assert expected in " ".join(message.html.split()).replace(
        f'<a href="tel:{team.line_phone.replace(" ", "")}">{team.line_phone}</a>',
        team.line_phone).replace("<strong>", "").replace("</strong>", "")
    assert reverse("bag_changes", args=[on_plan.pk]) in message.text
    assert "call your hospital line" in message.subject
    assert "14:00" in message.sms
    assert team.line_phone in message.sms


def test_the_amber_notice_is_a_gentle_reminder(on_plan, caregiver):
    sweep(after(60))
    message = message_for(Delivery.objects.get(purpose=Purpose.REMINDER))
    assert "Your bag change was due at 14:00: tap Bag changed when done." in message.text
    assert "has not been recorded" not in message.text


def test_the_patient_with_their_own_login_is_told_too(team):
    adult = PatientFactory(care_team=team, user=UserFactory(role=Role.PATIENT))
    plan_for(adult, start=date(2025, 6, 1), bag_hours=48, usual=time(14))
    sweep(after(180))
    assert family_notices() == [("bag red 2025-06-03T13:00Z", "patient", adult.user.email)]


def test_a_notice_not_yet_sent_is_cancelled_once_the_change_is_recorded(on_plan, caregiver):
    sweep(after(180))
    row = Delivery.objects.get(purpose=Purpose.REMINDER)
    assert delivery_reason_gone(row, now=after(181)) is None
    bag_change_record(patient=on_plan, by=caregiver, changed_at=after(170), now=after(182))
    assert delivery_reason_gone(row, now=after(183)) == (
        f"the bag change was recorded at 16:50 BST by {caregiver.full_name}")


def home_at(user, moment: datetime) -> str:
    # A client signed in at that moment (the idle timeout counts from sign-in).
    with time_machine.travel(moment, tick=False):
        response = verified_client(user).get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_home_page_says_what_to_do_while_overdue(on_plan, caregiver, team):
    page = home_at(caregiver, after(30))
    assert "data-bag-overdue" not in page
    assert reverse("bag_changes", args=[on_plan.pk]) in page  # the trained caregiver's button
    page = home_at(caregiver, after(60))
    assert 'data-bag-overdue="amber"' in page
    assert "Your bag change was due at 14:00: tap Bag changed when done." in page
    page = home_at(caregiver, after(180))
    assert 'data-bag-overdue="red"' in page
    assert "The bag change due at 14:00 has not been recorded." in page
    assert f'href="tel:{team.line_phone.replace(" ", "")}"' in page


def test_a_change_overdue_since_an_earlier_day_gives_the_date(on_plan, caregiver):
    page = home_at(caregiver, after(60 * 26))  # 4 June 16:00 BST
    assert "The bag change due at Tue 3 Jun 14:00 has not been recorded." in page
    assert "overdue since Tuesday 3 June, 14:00" in page  # not "Next bag change: <past>"


# The nurse's queue ------------------------------------------------------------------------------

def test_the_queue_and_the_alert_page_say_since_when(on_plan, nurse):
    sweep(after(180))
    alert = Alert.objects.get()
    client = verified_client(nurse)
    with time_machine.travel(after(185), tick=False):
        queue = client.get(reverse("alert_list")).content.decode()
        detail = client.get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert "Bag change overdue since 14:00 (red at 17:00)" in queue
    assert "Bag change overdue since 14:00 (red at 17:00)" in detail


def test_the_queue_gives_the_date_of_a_change_overdue_since_an_earlier_day(on_plan, nurse):
    sweep(after(180))
    with time_machine.travel(DUE + timedelta(days=10), tick=False):
        queue = verified_client(nurse).get(reverse("alert_list")).content.decode()
    assert "Bag change overdue since Tue 3 Jun 14:00 (red at Tue 3 Jun 17:00)" in queue


# Sweeps: part of sweep_run, concurrent, a fixed number of queries ---------------------------------

def test_sweep_run_runs_it_as_a_part_of_its_own(on_plan):
    with time_machine.travel(after(60), tick=False):
        report = sweep_run(now=after(60), heartbeat="test")
    assert report.bag_overdue == 1
    assert report.summary()["bag_overdue"] == 1
    assert "bag_change_overdue" not in report.summary().get("errors", [])


def test_one_patient_s_failure_does_not_stop_the_others(team, monkeypatch):
    from alerts import bag_sweeps

    first, second = PatientFactory(care_team=team), PatientFactory(care_team=team)
    for patient in (first, second):
        plan_for(patient, start=date(2025, 6, 1), bag_hours=48, usual=time(14))
    real = bag_sweeps.alert_raise

    def failing(*, patient, **kwargs):
        if patient.pk == first.pk:
            raise RuntimeError("boom")
        return real(patient=patient, **kwargs)

    monkeypatch.setattr(bag_sweeps, "alert_raise", failing)
    assert sweep(after(60)) == 1
    assert list(Alert.objects.values_list("patient_id", flat=True)) == [second.pk]
    # The failed patient's level was rolled back with its transaction: the next sweep tries.
    monkeypatch.setattr(bag_sweeps, "alert_raise", real)
    assert sweep(after(61)) == 1


def _patients_on_plan(team, count: int, *, changed: bool = False) -> list[Patient]:
    nurse = StaffFactory(team=team)
    made = []
    for i in range(count):
        patient = PatientFactory(care_team=team, user=UserFactory(
            email=f"bag{team.pk}-{i}@example.org", role=Role.PATIENT))
        plan_for(patient, start=date(2025, 6, 1), bag_hours=48, usual=time(14))
        if changed:
            bag_change_record(patient=patient, by=nurse, changed_at=after(-5), now=after(-5))
        made.append(patient)
    CaregiverLinkFactory(patient=made[-1])
    return made


@pytest.mark.parametrize("phase", ["nothing due", "steady"])
def test_the_sweep_runs_the_same_number_of_queries_for_5_and_50_patients(db, phase):
    from tests.factories import CareTeamFactory

    counts = []
    for size in (5, 50):
        team = CareTeamFactory()
        made = _patients_on_plan(team, size, changed=phase == "nothing due")
        moment = after(90)
        if phase == "steady":
            assert sweep(after(60)) == size  # amber raised once for everyone...
        with CaptureQueriesContext(connection) as ctx:
            assert sweep(moment) == 0  # ...and a later sweep finds it done
        counts.append(len(ctx.captured_queries))
        # Tidy up so that the second size is measured alone.
        TreatmentPlan.objects.filter(patient__in=made).update(bag_hours=None)
    assert counts[0] == counts[1], counts
    assert counts[0] <= 5, counts


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_raise_each_level_once(team):
    skip_unless_postgresql()
    child = PatientFactory(care_team=team)
    caregiver = CaregiverLinkFactory(patient=child).caregiver
    plan_for(child, start=date(2025, 6, 1), bag_hours=48, usual=time(14))
    raised = at_once(lambda: bag_change_overdue_sweep(now=after(180)))
    assert sorted(raised) == [0, 1]
    alert = Alert.objects.get()
    assert (alert.severity, alert.notices) == ("red", 1)
    assert BagChangeOverdue.objects.count() == 1
    assert family_notices() == [("bag red 2025-06-03T13:00Z", "caregiver", caregiver.email)]
    assert team_pages() >= 1
