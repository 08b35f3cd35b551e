"""The neurological self-check, the carer's worry and the follow-up of a flagged symptom in
the check-in (clinical-rules.md "Version 2": "The neurological self-check", "The carer's
worry", "Follow-up of a flagged symptom"; issue 13).

The expected scores and results are worked out here from the document, not from
triage.neuro: ICE one point per task right (10 tasks); CAPD items 1-4 reversed (never = 4),
items 5-8 as given; ICE below the baseline (10) red, 2 or less red and an emergency; CAPD
9 or more red; worry 3 amber `carer_concern`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from alerts.models import Alert
from alerts.services import alert_resolve
from symptoms.models import CheckIn
from tests.factories import CaregiverLinkFactory, PatientFactory, UserFactory
from treatment.models import TreatmentCycle, TreatmentPlan

pytestmark = pytest.mark.django_db

# The ICE tasks as the document lists them: orientation (4), naming three objects (3),
# a command, writing, counting back.
ICE_FIELDS = ["ice_year", "ice_month", "ice_city", "ice_hospital", "ice_name_key",
              "ice_name_cup", "ice_name_pencil", "ice_command", "ice_writing", "ice_counting"]
# CAPD items 1-8 in the document's order; 1-4 scored in reverse.
CAPD_FIELDS = ["capd_eye_contact", "capd_purposeful", "capd_aware", "capd_communicates",
               "capd_restless", "capd_inconsolable", "capd_underactive",
               "capd_slow_to_respond"]
NEVER, RARELY, SOMETIMES, OFTEN, ALWAYS = "0", "1", "2", "3", "4"


def on_infusion(patient, start: date | None = None) -> None:
    """Cycle 1 starting `start` (default: 3 days ago, so today is infusion day 4)."""
    plan, _ = TreatmentPlan.objects.get_or_create(patient=patient)
    plan.cycles.all().delete()
    TreatmentCycle.objects.create(plan=plan, number=1,
                                  start_date=start or patient.local_today() - timedelta(days=3))


def off_treatment(patient) -> None:
    TreatmentPlan.objects.filter(patient=patient).delete()


def born_years_ago(patient, years: int, *, days_more: int = 0) -> None:
    """Make the patient `years` old today (their birthday today), or `days_more` days
    short of that birthday when negative."""
    today = patient.local_today()
    birthday = today.replace(year=today.year - years) - timedelta(days=days_more)
    patient.date_of_birth = birthday
    patient.save(update_fields=["date_of_birth"])


@pytest.fixture
def adult(patient):
    on_infusion(patient)
    return patient


@pytest.fixture
def child7(child):
    born_years_ago(child, 7)
    on_infusion(child)
    return child


def post(client, patient, url="check_in_new", **fields):
    payload = {"submission_key": str(uuid.uuid4()), "unit": "c", **fields}
    return client.post(reverse(url, args=[patient.pk]), payload)


def ice(right: int) -> dict[str, str]:
    """ICE answers with the first `right` tasks right and the others wrong."""
    return {name: "1" if n < right else "0" for n, name in enumerate(ICE_FIELDS)}


def saved_result(client, response):
    assert response.status_code == 302, response.context and response.context["form"].errors
    return CheckIn.objects.latest("pk"), client.get(response["Location"]).content.decode()


def rules(check_in) -> set[str]:
    return {f["rule"] for f in check_in.findings}


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ------------------------------------------------------------------ ICE (12 and over)

def test_ice_nine_of_ten_with_baseline_ten_is_red_neuro_ice(as_user, adult):
    client = as_user(adult.user)
    check_in, page = saved_result(client, post(client, adult, **ice(9)))
    assert check_in.ice_score == 9
    assert check_in.capd_score is None
    assert check_in.neuro_tool == "ice"
    answers = check_in.neuro_items["answers"]
    assert len(answers) == 10
    assert list(answers.values()).count(False) == 1
    assert answers["counting"] is False
    assert answers["year"] is True
    assert check_in.neuro_items["unresponsive"] is False
    assert check_in.severity == "red"
    assert not check_in.emergency
    assert "neuro_ice" in rules(check_in)
    # The 24-hour line as a tel: link, and the finding in plain words for the patient.
    phone = adult.care_team.line_phone
    assert f'href="tel:{phone.replace(" ", "")}"' in page
    assert "Your thinking check score (9 of 10) is lower than usual (10)" in text(page)
    assert "Call 999" not in page


def test_ice_all_right_is_green_and_stored(as_user, adult):
    client = as_user(adult.user)
    check_in, page = saved_result(client, post(client, adult, **ice(10)))
    assert (check_in.ice_score, check_in.severity) == (10, "green")
    assert "Thinking check (ICE score): 10 of 10" in page


def test_ice_two_is_an_emergency_999_first(as_user, adult):
    client = as_user(adult.user)
    check_in, page = saved_result(client, post(client, adult, **ice(2)))
    assert check_in.ice_score == 2
    assert check_in.emergency
    assert {"neuro_ice", "neuro_ice_severe"} <= rules(check_in)
    assert page.index("Call <a") < page.index("Call your 24-hour hospital line now")


def test_pictures_are_shown_without_their_names(as_user, adult):
    page = as_user(adult.user).get(reverse("check_in_new", args=[adult.pk])).content.decode()
    for thing in ("key", "cup", "pencil"):
        img = re.search(rf'<img[^>]+src="[^"]*neuro/{thing}\.svg"[^>]*>', page)
        assert img, thing
        alt = re.search(r'alt="([^"]*)"', img.group(0)).group(1)
        assert alt
        assert thing not in alt.lower()
    assert page.count("Named correctly") == 3


# ------------------------------------------------------------------ CAPD (under 12)

def test_capd_items_giving_ten_are_red_neuro_capd(as_user, caregiver, child7):
    client = as_user(caregiver)
    # Items 1-4 reversed: "sometimes" gives 2 each (8); item 5 "rarely" 1, item 6 "rarely" 1,
    # items 7-8 "never" 0: 10.
    answers = dict(zip(CAPD_FIELDS, [SOMETIMES] * 4 + [RARELY, RARELY, NEVER, NEVER],
                       strict=True))
    check_in, page = saved_result(client, post(client, child7, **answers))
    assert check_in.capd_score == 10
    assert check_in.ice_score is None
    assert check_in.neuro_tool == "capd"
    assert check_in.neuro_items["answers"] == {
        "eye_contact": 2, "purposeful": 2, "aware": 2, "communicates": 2,
        "restless": 1, "inconsolable": 1, "underactive": 0, "slow_to_respond": 0}
    assert check_in.severity == "red"
    assert "neuro_capd" in rules(check_in)
    assert "behaviour (score 10 of 32)" in text(page)
    assert "tel:" in page


def test_capd_all_well_scores_zero(as_user, caregiver, child7):
    client = as_user(caregiver)
    answers = dict(zip(CAPD_FIELDS, [ALWAYS] * 4 + [NEVER] * 4, strict=True))
    check_in, _ = saved_result(client, post(client, child7, **answers))
    assert (check_in.capd_score, check_in.severity) == (0, "green")


def test_capd_questions_are_about_the_last_hours_and_the_child(as_user, caregiver, child7):
    page = text(as_user(caregiver).get(reverse("check_in_new", args=[child7.pk]))
                .content.decode())
    assert "over the last few hours" in page
    assert f"{child7.display_name} makes eye contact with you" in page
    assert "Sometimes" in page
    assert "Always" in page


# ------------------------------------------------------------------ incomplete, skipped

def test_a_half_done_ice_keeps_the_red_fever_saved_and_alerted(as_user, adult):
    # The tester's case: two tasks wrong, stopped, 38.6 °C, Send. The check-in is saved
    # and graded; the score is at most 8 (2 wrong of 10), so neuro_ice is certain.
    client = as_user(adult.user)
    check_in, page = saved_result(client, post(client, adult, temperature="38.6",
                                                ice_year="0", ice_month="0"))
    assert check_in.temperature_c == Decimal("38.6")
    assert check_in.ice_score == 8
    assert check_in.neuro_items == {"tool": "ice", "answers": {"year": False, "month": False},
                                    "unresponsive": False, "incomplete": True}
    assert check_in.severity == "red"
    assert {"temperature_high", "neuro_ice"} <= rules(check_in)
    assert Alert.objects.filter(patient=adult, check_ins=check_in).exists()
    assert ("Thinking check not finished: 2 of 10 tasks answered and sent, score at most "
            "8 of 10") in text(page)


def test_a_half_done_ice_with_nothing_wrong_yet_fires_no_ice_rule(as_user, adult):
    # Three right, then stopped: at most 10, so nothing about thinking is certain.
    client = as_user(adult.user)
    check_in, _ = saved_result(client, post(client, adult, temperature="36.8", ice_year="1",
                                            ice_month="1", ice_city="1"))
    assert check_in.ice_score == 10
    assert check_in.neuro_items["incomplete"] is True
    assert not {"neuro_ice", "neuro_ice_severe"} & rules(check_in)


def test_a_half_done_capd_of_twelve_points_is_red_and_saved(as_user, caregiver, child7):
    # Items 1-3 are reversed: "never" gives 4 points each, 12 already: certainly red.
    client = as_user(caregiver)
    check_in, page = saved_result(client, post(
        client, child7, temperature="36.8", capd_eye_contact=NEVER, capd_purposeful=NEVER,
        capd_aware=NEVER))
    assert check_in.capd_score == 12
    assert check_in.neuro_items["incomplete"] is True
    assert check_in.neuro_items["answers"] == {"eye_contact": 0, "purposeful": 0, "aware": 0}
    assert "neuro_capd" in rules(check_in)
    assert check_in.severity == "red"
    assert Alert.objects.filter(patient=child7, check_ins=check_in).exists()
    assert ("Behaviour check not finished: 3 of 8 questions answered and sent, score at "
            "least 12 of 32") in text(page)


def test_a_half_done_capd_counts_unanswered_items_as_zero_reversed_ones_included(
        as_user, caregiver, child7):
    # Item 1 (reversed) "always" = 0, item 5 "always" = 4; the six others count 0.
    client = as_user(caregiver)
    check_in, _ = saved_result(client, post(client, child7, capd_eye_contact=ALWAYS,
                                            capd_restless=ALWAYS))
    assert check_in.capd_score == 4
    assert not {"neuro_capd"} & rules(check_in)


def test_a_half_done_check_on_the_neuro_page_is_saved_on_what_is_certain(as_user, adult):
    client = as_user(adult.user)
    check_in, _ = saved_result(client, post(client, adult, "check_in_neuro",
                                            ice_year="0", ice_counting="0", ice_city="1"))
    assert check_in.ice_score == 8
    assert check_in.neuro_items["incomplete"] is True
    assert "neuro_ice" in rules(check_in)


def test_a_whole_check_is_not_marked_incomplete(as_user, adult):
    client = as_user(adult.user)
    check_in, _ = saved_result(client, post(client, adult, **ice(10)))
    assert "incomplete" not in check_in.neuro_items


def test_the_picture_tasks_are_named_picture_1_to_3(as_user, adult):
    response = as_user(adult.user).get(reverse("check_in_new", args=[adult.pk]))
    form = response.context["form"]
    labels = [form.fields[f"ice_name_{thing}"].label for thing in ("key", "cup", "pencil")]
    assert [label.split(":")[0] for label in labels] == [
        "Picture 1 of 3", "Picture 2 of 3", "Picture 3 of 3"]
    assert "Picture 2 of 3: Show the picture" in text(response.content.decode())


def test_a_skipped_check_is_not_done(as_user, adult):
    client = as_user(adult.user)
    check_in, _ = saved_result(client, post(client, adult, temperature="36.8"))
    assert check_in.neuro_tool == ""
    assert check_in.ice_score is None
    assert check_in.neuro_items == {}


# ------------------------------------------------------------------ "cannot be woken"

def test_cannot_be_woken_is_one_tap_and_an_emergency(as_user, caregiver, child7):
    client = as_user(caregiver)
    form = client.get(reverse("check_in_new", args=[child7.pk])).content.decode()
    assert re.search(r'<button[^>]+type="submit"[^>]+name="neuro_unresponsive"', form)
    check_in, page = saved_result(client, post(client, child7, neuro_unresponsive="1"))
    assert check_in.emergency
    assert check_in.severity == "red"
    assert check_in.symptoms == {"drowsiness": 4}
    assert check_in.capd_score is None
    assert check_in.neuro_tool == "capd"
    assert check_in.neuro_items == {"tool": "capd", "answers": {}, "unresponsive": True}
    emergency = child7.care_team.emergency_number
    assert page.index(f'href="tel:{emergency}"') < page.index(
        "Call your 24-hour hospital line now")
    assert "cannot be woken or does not respond: this is an emergency" in text(page)


def test_cannot_be_woken_on_an_ice_check_is_score_zero(as_user, adult):
    client = as_user(adult.user)
    check_in, _ = saved_result(client, post(client, adult, neuro_unresponsive="1",
                                            temperature="38.4", **ice(3)))
    assert check_in.ice_score == 0
    assert check_in.emergency
    # The other answers on the page are kept; the half-done items are not scored.
    assert check_in.temperature_c is not None
    assert "temperature_high" in rules(check_in)
    assert check_in.neuro_items["unresponsive"] is True


def test_cannot_be_woken_is_saved_even_beside_a_wrong_answer(as_user, adult):
    client = as_user(adult.user)
    check_in, _ = saved_result(client, post(client, adult, neuro_unresponsive="1",
                                            temperature="hot", spo2="1_0"))
    assert check_in.emergency
    assert check_in.ice_score == 0
    assert check_in.temperature_c is None


def test_enter_in_a_box_is_not_the_cannot_be_woken_button(as_user, adult):
    page = as_user(adult.user).get(reverse("check_in_new", args=[adult.pk])).content.decode()
    form = page[page.index('<form method="post"'):]
    first_submit = re.search(r'<button[^>]*type="submit"[^>]*>', form).group(0)
    assert "neuro_unresponsive" not in first_submit


# ------------------------------------------------------------------ which tool, when

@pytest.mark.parametrize(("years", "days_short", "tool"), [
    (12, 0, "ice"),  # 12th birthday today
    (12, -1, "capd"),  # 12 tomorrow: still 11 today
    (11, 0, "capd"),
])
def test_age_on_the_day_chooses_the_tool(as_user, caregiver, child, years, days_short, tool):
    on_infusion(child)
    today = child.local_today()
    child.date_of_birth = today.replace(year=today.year - years) + timedelta(days=-days_short)
    child.save(update_fields=["date_of_birth"])
    response = as_user(caregiver).get(reverse("check_in_new", args=[child.pk]))
    assert response.context["form"].neuro.tool == tool
    page = response.content.decode()
    assert ('name="ice_year"' in page) == (tool == "ice")
    assert ('name="capd_restless"' in page) == (tool == "capd")


def test_offered_once_a_day_on_infusion_days_only(as_user, adult):
    client = as_user(adult.user)
    url = reverse("check_in_new", args=[adult.pk])
    assert client.get(url).context["form"].neuro is not None
    # A check-in without the check does not use up today's offer.
    saved_result(client, post(client, adult, temperature="36.8"))
    assert client.get(url).context["form"].neuro is not None
    saved_result(client, post(client, adult, **ice(10)))
    assert client.get(url).context["form"].neuro is None
    assert 'name="ice_year"' not in client.get(url).content.decode()


def test_not_offered_on_a_break_day_or_without_a_plan(as_user, adult):
    client = as_user(adult.user)
    url = reverse("check_in_new", args=[adult.pk])
    on_infusion(adult, adult.local_today() - timedelta(days=30))  # break, day 3 of 14
    assert client.get(url).context["form"].neuro is None
    off_treatment(adult)
    assert client.get(url).context["form"].neuro is None


def test_the_neuro_page_always_offers_the_check(as_user, adult):
    client = as_user(adult.user)
    off_treatment(adult)
    url = reverse("check_in_neuro", args=[adult.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["form"].neuro.tool == "ice"
    # Only the check, the worry and a note; no temperature on this page.
    assert 'name="temperature"' not in response.content.decode()
    check_in, _ = saved_result(client, post(client, adult, "check_in_neuro", **ice(8)))
    assert check_in.ice_score == 8
    assert "neuro_ice" in rules(check_in)
    # Done today: the daily form no longer offers it, the neuro page still does.
    on_infusion(adult)
    assert client.get(reverse("check_in_new", args=[adult.pk])).context["form"].neuro is None
    assert client.get(url).context["form"].neuro is not None


def test_the_neuro_page_requires_the_check(as_user, caregiver, child7):
    client = as_user(caregiver)
    response = post(client, child7, "check_in_neuro", worry="1")
    assert response.status_code == 400
    assert CheckIn.objects.count() == 0
    assert set(response.context["form"].errors) == set(CAPD_FIELDS)


def test_the_neuro_page_puts_the_emergency_number_first_for_a_fit(as_user, caregiver,
                                                                   child7):
    page = as_user(caregiver).get(reverse("check_in_neuro", args=[child7.pk])).content.decode()
    emergency = child7.care_team.emergency_number
    phone = child7.care_team.line_phone
    words = text(page)
    assert (f"If {child7.display_name} has a fit or cannot be woken: call {emergency} now"
            in words)
    assert f'href="tel:{emergency.replace(" ", "")}"' in page
    assert words.index(f"call {emergency} now") < words.index("frightened or worried")
    assert f"do not wait: call the 24-hour line {phone}" in words


def test_view_only_caregiver_cannot_open_the_neuro_page(as_user, child7):
    link = CaregiverLinkFactory(patient=child7, may_log=False)
    assert as_user(link.caregiver).get(
        reverse("check_in_neuro", args=[child7.pk])).status_code == 404


def test_another_familys_neuro_page_is_404(as_user, patient, caregiver):
    assert as_user(caregiver).get(reverse("check_in_neuro", args=[patient.pk])).status_code \
        == 404


def test_home_page_links_to_the_neuro_check(as_user, adult, caregiver, child7):
    own = as_user(adult.user).get(reverse("home")).content.decode()
    assert "I'm worried about how I am thinking or behaving" in own.replace("&#x27;", "'")
    family = as_user(caregiver).get(reverse("home")).content.decode().replace("&#x27;", "'")
    assert "I'm worried about how they are thinking or behaving" in family
    assert reverse("check_in_neuro", args=[child7.pk]) in family


# ------------------------------------------------------------------ the carer's worry

def test_worry_three_is_amber_carer_concern(as_user, caregiver, child7):
    client = as_user(caregiver)
    check_in, page = saved_result(client, post(client, child7, temperature="36.7", worry="3"))
    assert check_in.worry == 3
    assert check_in.severity == "amber"
    assert rules(check_in) == {"carer_concern"}
    assert "You said you are very worried. Your care team will call you back today." in page


def test_worry_is_asked_about_the_child_and_not_preselected(as_user, caregiver, child7):
    page = as_user(caregiver).get(reverse("check_in_new", args=[child7.pk])).content.decode()
    assert f"How worried are you about {child7.display_name} today?" in page
    worry = re.findall(r'<input[^>]+name="worry"[^>]*>', page)
    assert len(worry) == 5  # not at all, a little, quite, very, not answered
    # Only "not answered" stands checked, as for every symptom: no level is preselected.
    assert [tag for tag in worry if "checked" in tag] == [
        tag for tag in worry if 'value=""' in tag]


def test_worry_out_of_range_is_refused(as_user, adult):
    client = as_user(adult.user)
    response = post(client, adult, temperature="36.8", worry="4")
    assert response.status_code == 400
    assert CheckIn.objects.count() == 0
    assert "worry" in response.context["form"].errors


# ------------------------------------------------------------------ exports

def test_exports_hold_the_new_fields(as_user, caregiver, child7):
    client = as_user(caregiver)
    answers = dict(zip(CAPD_FIELDS, [OFTEN] * 4 + [RARELY] * 4, strict=True))
    saved_result(client, post(client, child7, worry="2", **answers))
    body = b"".join(client.get(reverse("export_csv", args=[child7.pk])).streaming_content)
    (row,) = list(csv.DictReader(io.StringIO(body.decode())))
    assert (row["capd_score"], row["worry"], row["neuro_tool"], row["ice_score"]) == (
        "8", "2", "capd", "")
    assert json.loads(row["neuro_items"])["answers"]["restless"] == 1
    data = json.loads(client.get(reverse("export_json", args=[child7.pk])).content)
    (exported,) = data["check_ins"]
    assert (exported["capd_score"], exported["worry"], exported["neuro_tool"]) == (8, 2, "capd")
    assert exported["neuro_items"]["answers"]["eye_contact"] == 3
    history = client.get(reverse("check_in_history", args=[child7.pk])).content.decode()
    assert "CAPD 8" in text(history)
    assert "worry 2" in text(history).lower()


# ------------------------------------------------------------------ follow-up

def first_question(page: str) -> str:
    """The name of the first symptom question on the form."""
    return re.search(r'name="(symptom_[a-z_]+)"', page).group(1)


def test_a_flagged_symptom_opens_the_next_check_in_with_last_time(as_user, adult):
    client = as_user(adult.user)
    off_treatment(adult)  # no neuro check on the page: the first question is the symptom
    url = reverse("check_in_new", args=[adult.pk])
    assert first_question(client.get(url).content.decode()) == "symptom_chills"
    check_in, _ = saved_result(client, post(client, adult, symptom_nausea="2"))
    assert check_in.severity == "amber"
    page = client.get(url).content.decode()
    assert first_question(page) == "symptom_nausea"
    assert "last time: moderate (2)" in page
    # Asked once (grades 0-4 and "not answered"), not again in its group.
    assert page.count('name="symptom_nausea"') == 6
    # Graded 1 next time: still followed, with the new grade.
    saved_result(client, post(client, adult, symptom_nausea="1"))
    page = client.get(url).content.decode()
    assert first_question(page) == "symptom_nausea"
    assert "last time: mild (1)" in page
    # Graded 0: the follow-up ends, and stays ended after another mild grade.
    saved_result(client, post(client, adult, symptom_nausea="0"))
    saved_result(client, post(client, adult, symptom_nausea="1"))
    page = client.get(url).content.decode()
    assert first_question(page) == "symptom_chills"
    assert "last time" not in page


def test_the_follow_up_ends_when_the_alert_is_resolved(as_user, nurse, adult):
    client = as_user(adult.user)
    off_treatment(adult)
    url = reverse("check_in_new", args=[adult.pk])
    check_in, _ = saved_result(client, post(client, adult, symptom_headache="3"))
    assert first_question(client.get(url).content.decode()) == "symptom_headache"
    alert = check_in.alerts.get()
    alert_resolve(alert=alert, user=nurse, outcome="advice_given")
    assert first_question(client.get(url).content.decode()) == "symptom_chills"


def test_follow_ups_keep_the_catalogue_order_and_a_green_symptom_is_not_followed(
        as_user, adult):
    client = as_user(adult.user)
    off_treatment(adult)
    saved_result(client, post(client, adult, symptom_nausea="2", symptom_headache="2",
                              symptom_rash="1"))
    form = client.get(reverse("check_in_new", args=[adult.pk])).context["form"]
    followed = [field.name for field, _ in form.follow_up_fields()]
    assert followed == ["symptom_headache", "symptom_nausea"]


def test_another_patients_flag_is_not_followed(as_user, adult, team):
    other = PatientFactory(care_team=team, user=UserFactory())
    off_treatment(adult)
    as_user(other.user).post(reverse("check_in_new", args=[other.pk]), {
        "submission_key": str(uuid.uuid4()), "unit": "c", "symptom_nausea": "3"})
    assert CheckIn.objects.filter(patient=other).exists()
    form = as_user(adult.user).get(reverse("check_in_new", args=[adult.pk])).context["form"]
    assert form.follow_up_fields() == []
