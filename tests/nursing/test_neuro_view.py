"""What the nurse sees of a neurological self-check (clinical-rules.md "The neurological
self-check", "The carer's worry"): on the alert page and the timeline, the tool, the total,
the baseline in force when the check-in was judged, each answer in words (the ICE tasks
missed by name; each CAPD answer with its points, items 1-4 scored in reverse), the
family's worry in words, and a trend of the totals."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.services import alert_raise
from symptoms.models import CheckIn
from symptoms.thresholds import ruleset_for_patient
from tests.factories import PatientFactory
from triage import neuro
from triage.rules import Finding

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)

# The document's words for the items (transcribed from clinical-rules.md, not the code).
EYE_CONTACT = "eye contact"     # CAPD item 1, reverse-scored
RESTLESS = "restless"           # CAPD item 5, scored as given


def saved_check_in(patient, *, tool, answers, total, minutes_ago=5, worry=None,
                   severity="red", baseline=None, unresponsive=False, findings=(), by=None,
                   incomplete=False, recorded_as="caregiver"):
    """A check-in row as the check-in service stores it, with the rule-set snapshot of
    the patient's thresholds then (the baseline in force), attached to the patient's
    alert when not green."""
    snapshot = ruleset_for_patient(patient).to_json()
    if baseline is not None:
        snapshot[f"{tool}_baseline"] = baseline
    when = NOW - timedelta(minutes=minutes_ago)
    check_in = CheckIn.objects.create(
        patient=patient, recorded_by=by or patient.user, recorded_as=recorded_as,
        recorded_at=when, severity=severity, rules_version="v2", ruleset=snapshot,
        neuro_tool=tool, neuro_items={"tool": tool, "answers": answers,
                                      "unresponsive": unresponsive,
                                      **({"incomplete": True} if incomplete else {})},
        ice_score=total if tool == "ice" else None,
        capd_score=total if tool == "capd" else None, worry=worry,
        findings=[f.to_json() for f in findings], submission_key=uuid.uuid4(),
    )
    if severity != "green":
        alert_raise(patient=patient, severity=severity, findings=list(findings) or [
            Finding("carer_concern", severity, "x")], rules_version="v2", now=when,
            check_in=check_in)
    return check_in


def ice_answers(missed=()):
    return {task.code: task.code not in missed for task in neuro.ICE_TASKS}


def capd_item(words):
    return next(item for item in neuro.CAPD_ITEMS if words in item.words.lower())


@pytest.fixture
def teen(team, patient_user):
    return PatientFactory(care_team=team, user=patient_user, display_name="Teo Teen")


def test_the_alert_page_names_the_ice_tasks_missed_and_the_baseline_then(as_user, nurse,
                                                                         teen):
    missed = ["month", "counting"]
    check_in = saved_check_in(teen, tool="ice", answers=ice_answers(missed), total=8,
                              baseline=9, worry=2,
                              findings=[Finding("neuro_ice", "red", "ICE score 8")])
    alert = check_in.alerts.get()
    # The baseline changes later: the page still shows the one that judged the check-in.
    teen.thresholds = {"ice_baseline": 6}
    teen.save()
    body = as_user(nurse).get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert "ICE score 8 of 10 (baseline 9)" in body
    assert "below baseline" in body
    missed_line = body.split('class="mb-1 neuro-missed"', 1)[1].split("</p>", 1)[0]
    assert "the month" in missed_line
    assert "counting back from 100 in tens" in missed_line
    assert "the year" not in missed_line
    assert "naming" not in missed_line
    assert "How worried the family is: <strong>quite</strong>" in body


def test_ice_at_the_baseline_is_not_called_below_it(as_user, nurse, teen):
    check_in = saved_check_in(teen, tool="ice", answers=ice_answers(), total=10,
                              severity="amber", worry=3)
    body = as_user(nurse).get(
        reverse("alert_detail", args=[check_in.alerts.get().pk])).content.decode()
    assert "ICE score 10 of 10 (baseline 10)" in body
    assert "below baseline" not in body
    assert "No task missed." in body
    assert "How worried the family is: <strong>very</strong>" in body
    assert "call them back today" in body


def item_line(body, item):
    return body.split(f"{item.number}. {item.words}: ", 1)[1].split("</li>", 1)[0]


def test_capd_answers_show_their_points_with_items_1_to_4_reversed(as_user, nurse, child,
                                                                   caregiver):
    never = neuro.CAPD_ANSWERS.index("never")
    always = neuro.CAPD_ANSWERS.index("always")
    answers = {item.code: never for item in neuro.CAPD_ITEMS}
    answers[capd_item(RESTLESS).code] = always
    # Never makes eye contact: 4 points (reversed); restless always: 4; the other reverse
    # items "never": 4 each; the others "never": 0.
    check_in = saved_check_in(child, tool="capd", answers=answers, total=20, by=caregiver)
    body = as_user(nurse).get(
        reverse("alert_detail", args=[check_in.alerts.get().pk])).content.decode()
    assert "CAPD 20 of 32 (baseline 0)" in body
    eye = item_line(body, capd_item(EYE_CONTACT))
    assert "never" in eye
    assert "4 points" in eye
    assert "reverse-scored" in eye
    restless = item_line(body, capd_item(RESTLESS))
    assert "always" in restless
    assert "4 points" in restless
    assert "reverse-scored" not in restless
    calm = item_line(body, next(i for i in neuro.CAPD_ITEMS if not i.reverse
                                and i.code != capd_item(RESTLESS).code))
    assert "never" in calm
    assert "0 points" in calm


def test_capd_always_on_a_reversed_item_gives_no_points(as_user, nurse, child, caregiver):
    always = neuro.CAPD_ANSWERS.index("always")
    never = neuro.CAPD_ANSWERS.index("never")
    answers = {item.code: (always if item.reverse else never) for item in neuro.CAPD_ITEMS}
    check_in = saved_check_in(child, tool="capd", answers=answers, total=0, worry=3,
                              severity="amber", by=caregiver)
    body = as_user(nurse).get(
        reverse("alert_detail", args=[check_in.alerts.get().pk])).content.decode()
    eye = item_line(body, capd_item(EYE_CONTACT))
    assert "always" in eye
    assert "0 points" in eye


def test_the_timeline_shows_the_trend_and_each_check(as_user, nurse, teen):
    for minutes, total in ((300, 10), (200, 9), (100, 7)):
        missed = [t.code for t in neuro.ICE_TASKS[: 10 - total]]
        saved_check_in(teen, tool="ice", answers=ice_answers(missed), total=total,
                       minutes_ago=minutes, severity="green" if total == 10 else "red")
    response = as_user(nurse).get(reverse("patient_timeline", args=[teen.pk]))
    trend = response.context["neuro_trend"]
    assert [p.check.total for p in trend] == [10, 9, 7]  # oldest first
    assert [p.check.baseline for p in trend] == [10, 10, 10]
    body = response.content.decode()
    section = body.split('id="neuro-trend"', 1)[1].split("</section>", 1)[0]
    assert section.count('class="neuro-point"') == 3
    assert "ICE score 7 of 10 (baseline 10)" in body  # on the check-in's row
    assert "Missed: the year; the month; the city." in body


def test_a_check_in_without_a_neuro_check_shows_none(as_user, nurse, patient):
    from tests.nursing.test_timeline import record

    record(patient, patient.user, NOW - timedelta(minutes=5), temperature_c=38.4)
    response = as_user(nurse).get(reverse("patient_timeline", args=[patient.pk]))
    assert response.context["neuro_trend"] == []
    assert "No neurological self-check recorded." in response.content.decode()
    alert = patient.alerts.get()
    body = as_user(nurse).get(reverse("alert_detail", args=[alert.pk])).content.decode()
    assert "neuro-check" not in body


def test_another_teams_patient_answers_404(as_user, other_team_nurse, teen):
    check_in = saved_check_in(teen, tool="ice", answers=ice_answers(), total=9)
    client = as_user(other_team_nurse)
    assert client.get(reverse("alert_detail",
                              args=[check_in.alerts.get().pk])).status_code == 404
    assert client.get(reverse("patient_timeline", args=[teen.pk])).status_code == 404


def test_through_the_real_service_the_nurse_sees_the_baseline_the_page_set(
    as_user, nurse, teen
):
    from symptoms.services import check_in_record
    from triage.validation import parse_check_in

    client = as_user(nurse)
    # The baseline set on the Thresholds page, with a reason, judges the next check-in.
    from tests.nursing.test_baselines import post as post_thresholds

    assert post_thresholds(client, teen, ice_baseline="8",
                           reason="Scores 8 when well").status_code == 302
    answers = ice_answers(missed=["writing", "counting", "city"])
    check_in, _ = check_in_record(
        patient=teen, recorded_by=teen.user, submission_key=uuid.uuid4(),
        data=parse_check_in({"ice_score": neuro.ice_total(answers), "worry": 3}),
        neuro_items={"tool": "ice", "answers": answers, "unresponsive": False},
    )
    assert check_in.severity == "red"  # 7 below this patient's baseline 8
    body = client.get(reverse("alert_detail",
                              args=[check_in.alerts.get().pk])).content.decode()
    assert "ICE score 7 of 10 (baseline 8)" in body
    assert "Missed: the city; writing a sentence; counting back from 100 in tens." in body
    assert "<strong>very</strong>" in body
    queue = client.get(reverse("alert_list")).content.decode()
    assert "family very worried" in queue


def test_cannot_be_woken_and_a_total_without_items_read_plainly(as_user, nurse, teen, child,
                                                                caregiver):
    asleep = saved_check_in(teen, tool="ice", answers={}, total=0, unresponsive=True)
    body = as_user(nurse).get(
        reverse("alert_detail", args=[asleep.alerts.get().pk])).content.decode()
    assert "ICE score 0 of 10 (baseline 10)" in body
    assert "cannot be woken or does not respond" in body
    assert "No task missed." not in body
    child_asleep = saved_check_in(child, tool="capd", answers={}, total=None,
                                  unresponsive=True, by=caregiver)
    body = as_user(nurse).get(
        reverse("alert_detail", args=[child_asleep.alerts.get().pk])).content.decode()
    assert "CAPD not scored (baseline 0)" in body
    assert "cannot be woken or does not respond" in body
    teen.alerts.update(state="resolved", resolved_by=nurse, resolved_at=NOW,
                       outcome="advice_given")
    typed = CheckIn.objects.create(
        patient=teen, recorded_by=nurse, recorded_as="staff_phone", recorded_at=NOW,
        severity="red", rules_version="v2", ruleset={"ice_baseline": 10}, neuro_tool="ice",
        ice_score=6, submission_key=uuid.uuid4())
    alert_raise(patient=teen, severity="red", findings=[Finding("neuro_ice", "red", "x")],
                rules_version="v2", now=NOW, check_in=typed)
    body = as_user(nurse).get(
        reverse("alert_detail", args=[typed.alerts.get().pk])).content.decode()
    assert "ICE score 6 of 10 (baseline 10)" in body
    assert "The item answers were not recorded" in body
    assert "no answer" not in body


def test_an_incomplete_ice_says_how_many_were_answered_and_the_score_at_most(
        as_user, nurse, teen):
    answers = {"year": False, "month": False, "city": True, "hospital": True,
               "name_key": True, "name_cup": True}
    check_in = saved_check_in(teen, tool="ice", answers=answers, total=8, incomplete=True,
                              findings=[Finding("neuro_ice", "red", "ICE score 8")])
    body = as_user(nurse).get(
        reverse("alert_detail", args=[check_in.alerts.get().pk])).content.decode()
    assert "ICE score incomplete: 6 of 10 answered, score at most 8 (baseline 10)" in body
    assert "ICE score 8 of 10" not in body


def test_an_incomplete_capd_says_the_score_at_least(as_user, nurse, child, caregiver):
    never = neuro.CAPD_ANSWERS.index("never")
    answers = {"eye_contact": never, "purposeful": never, "aware": never}
    check_in = saved_check_in(child, tool="capd", answers=answers, total=12,
                              incomplete=True, by=caregiver,
                              findings=[Finding("neuro_capd", "red", "CAPD 12")])
    body = as_user(nurse).get(
        reverse("alert_detail", args=[check_in.alerts.get().pk])).content.decode()
    assert "CAPD incomplete: 3 of 8 answered, score at least 12 (baseline 0)" in body


@pytest.mark.parametrize(("total", "rule", "severity", "badge", "not_badge"), [
    # 10 of 32 on baseline 0 is also 3 or more above it: the red cut-off is what fired.
    (10, "neuro_capd", "red", "9 or more: possible delirium", "3 or more above baseline"),
    (3, "neuro_capd_rise", "amber", "3 or more above baseline", "possible delirium"),
])
def test_the_capd_badge_names_the_stored_finding(as_user, nurse, child, caregiver, total,
                                                 rule, severity, badge, not_badge):
    always = neuro.CAPD_ANSWERS.index("always")
    answers = {item.code: (always if item.reverse else 0) for item in neuro.CAPD_ITEMS}
    answers["restless"], answers["inconsolable"] = min(total, 4), max(total - 4, 0)
    answers["underactive"] = max(total - 8, 0)
    check_in = saved_check_in(child, tool="capd", answers=answers, total=total,
                              by=caregiver, severity=severity,
                              findings=[Finding(rule, severity, f"CAPD {total}")])
    body = as_user(nurse).get(
        reverse("alert_detail", args=[check_in.alerts.get().pk])).content.decode()
    assert f"CAPD {total} of 32 (baseline 0)" in body
    assert badge in body
    assert not_badge not in body


def test_a_check_in_from_the_patients_login_is_recorded_on_the_patients_account(
        as_user, nurse, teen):
    check_in = saved_check_in(teen, tool="ice", answers={}, total=0, unresponsive=True,
                              recorded_as="patient")
    timeline = as_user(nurse).get(reverse("patient_timeline", args=[teen.pk])).content.decode()
    assert "(on the patient&#x27;s account)" in timeline
    assert "(the patient)" not in timeline
    queue = as_user(nurse).get(reverse("alert_list")).content.decode()
    assert "(on the patient&#x27;s account)" in queue
    assert check_in.recorded_as_words == "on the patient's account"
