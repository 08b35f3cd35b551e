"""The plan page and services, clinic visits, the family's calendar feed (issue 13)."""

from __future__ import annotations

import html.parser
import re
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from accounts.models import AccessLog, Role
from portal.redaction import redact
from tests.factories import CaregiverLinkFactory, PatientFactory, UserFactory, plan_set
from treatment import calendar, services
from treatment.feeds import TITLE_BAG, TITLE_CHECK_IN, TITLE_VISIT, feed_calendar
from treatment.models import CalendarFeed, ClinicVisit, TreatmentCycle, TreatmentPlan
from treatment.services import PlanRefused, PlanValues, plan_save

TODAY = date(2026, 3, 2)


def values(*starts, cycles=2, confirm=False, **extra) -> PlanValues:
    return PlanValues(planned_cycles=cycles, cycle_starts=tuple(starts),
                      bag_hours=extra.get("bag_hours", 48),
                      usual_change_time=extra.get("usual_change_time", time(10)),
                      changed_by=extra.get("changed_by", "day_unit"),
                      confirm_started=confirm)


# plan_save -------------------------------------------------------------------------------

def test_a_new_plan_is_saved_with_its_cycle_rows_and_who_saved_it(patient, nurse):
    plan_set(patient, None)
    plan = plan_save(patient=patient, by=nurse, today=TODAY,
                     values=values(date(2026, 3, 9), None, date(2026, 6, 8), cycles=3))
    assert plan.updated_by == nurse
    assert list(plan.cycles.values_list("number", "start_date")) == [
        (1, date(2026, 3, 9)), (3, date(2026, 6, 8))]
    assert plan.history.first().history_user == nurse
    assert calendar.schedule(patient).starts == (
        date(2026, 3, 9), date(2026, 4, 20), date(2026, 6, 8))


def test_a_later_cycle_may_start_late_but_never_early(patient, nurse):
    plan_set(patient, None)
    with pytest.raises(PlanRefused) as refused:
        plan_save(patient=patient, by=nurse, today=TODAY,
                  values=values(date(2026, 3, 9), date(2026, 4, 19)))
    assert set(refused.value.errors) == {"cycle_2_start"}
    assert "20 April 2026" in refused.value.errors["cycle_2_start"]
    assert not TreatmentPlan.objects.filter(patient=patient).exists()  # nothing half-saved


def test_a_started_cycle_keeps_its_date_unless_the_correction_is_confirmed(patient, nurse):
    plan_set(patient, date(2026, 2, 20), 2)  # started before TODAY
    with pytest.raises(PlanRefused) as refused:
        plan_save(patient=patient, by=nurse, today=TODAY,
                  values=values(date(2026, 2, 23)))
    assert "Correct a started cycle" in refused.value.errors["cycle_1_start"]
    assert patient.treatment_plan.cycles.get().start_date == date(2026, 2, 20)
    assert patient.treatment_plan.bag_hours is None  # the whole save was refused
    plan_save(patient=patient, by=nurse, today=TODAY,
              values=values(date(2026, 2, 23), confirm=True))
    assert patient.treatment_plan.cycles.get().start_date == date(2026, 2, 23)


def test_a_future_cycle_may_move_later_but_not_into_the_past_without_confirming(patient,
                                                                                nurse):
    plan_set(patient, date(2026, 1, 26), 2)  # cycle 2 on 9 March, not started on 2 March
    plan_save(patient=patient, by=nurse, today=TODAY,
              values=values(date(2026, 1, 26), date(2026, 3, 16)))
    assert calendar.position(patient, date(2026, 3, 12)).text == (
        "cycle 1, break, day 18; cycle 2 starts 16 March")
    with pytest.raises(PlanRefused) as refused:
        plan_save(patient=patient, by=nurse, today=date(2026, 3, 12),
                  values=values(date(2026, 1, 26), date(2026, 3, 9)))
    assert "in the past" in refused.value.errors["cycle_2_start"]


def test_a_started_cycle_is_not_planned_away_without_confirming(patient, nurse):
    plan_set(patient, date(2026, 1, 1), 2)  # cycle 2 from 12 February
    with pytest.raises(PlanRefused) as refused:
        plan_save(patient=patient, by=nurse, today=TODAY,
                  values=values(date(2026, 1, 1), cycles=1))
    assert "cycle 2 has already started" in refused.value.errors["planned_cycles"]


@pytest.mark.parametrize(("change", "field"), [
    ({"bag_hours": 36}, "bag_hours"), ({"changed_by": "neighbour"}, "changed_by")])
def test_bag_values_outside_the_choices_are_refused_by_name(patient, nurse, change, field):
    with pytest.raises(PlanRefused) as refused:
        plan_save(patient=patient, by=nurse, today=TODAY,
                  values=values(patient.treatment_plan.cycles.get().start_date, **change))
    assert field in refused.value.errors


# The plan page ---------------------------------------------------------------------------

def test_new_patient_goes_on_to_its_plan_page_without_a_plan(as_user, nurse, team):
    client = as_user(nurse)
    response = client.post(reverse("patient_create", args=[team.pk]), {
        "display_name": "Ada", "date_of_birth": "2016-03-01", "hospital_number": "HN-777",
        "time_zone": "Europe/London"})
    created = team.patients.get(hospital_number="HN-777")
    assert response["Location"] == reverse("treatment_plan", args=[created.pk])
    assert not TreatmentPlan.objects.filter(patient=created).exists()
    page = client.get(response["Location"])
    assert "No plan yet" in page.content.decode()


def test_the_plan_page_saves_logs_the_read_and_shows_who_changed_what(as_user, nurse,
                                                                      patient):
    start = patient.treatment_plan.cycles.get().start_date
    client = as_user(nurse)
    url = reverse("treatment_plan", args=[patient.pk])
    response = client.post(url, {"planned_cycles": "3", "cycle_1_start": start.isoformat(),
                                 "bag_hours": "72", "usual_change_time": "09:30",
                                 "changed_by": "trained_caregiver"})
    assert response.status_code == 302
    plan = TreatmentPlan.objects.get(patient=patient)
    assert (plan.planned_cycles, plan.bag_hours, plan.usual_change_time, plan.changed_by) == (
        3, 72, time(9, 30), "trained_caregiver")
    page = client.get(url).content.decode()
    assert "bag duration: — → 72 hours" in page  # words, not codes
    assert "changed by: the day unit → a trained caregiver" in page
    assert "Nia Nurse" in page
    assert AccessLog.objects.filter(user=nurse, patient=patient,
                                    action="view treatment plan").exists()


def test_a_refused_plan_names_the_field_and_saves_nothing(as_user, nurse, patient):
    client = as_user(nurse)
    start = patient.treatment_plan.cycles.get().start_date
    response = client.post(reverse("treatment_plan", args=[patient.pk]), {
        "planned_cycles": "2", "cycle_1_start": start.isoformat(),
        "cycle_2_start": (start + timedelta(days=30)).isoformat(), "changed_by": "day_unit"})
    assert response.status_code == 400
    assert "cycle_2_start" in response.context["form"].errors
    assert not TreatmentCycle.objects.filter(plan__patient=patient, number=2).exists()


def test_the_plan_page_prefills_the_starts_in_force_and_saves_them_unchanged(
        as_user, nurse, patient):
    start = patient.treatment_plan.cycles.get().start_date
    client = as_user(nurse)
    url = reverse("treatment_plan", args=[patient.pk])
    page = client.get(url).content.decode()

    class Inputs(html.parser.HTMLParser):
        """The form's values as a browser would send them (inputs, checked radios,
        selected options)."""

        def __init__(self):
            super().__init__()
            self.data, self.select = {}, None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "select":
                self.select = a.get("name")
            elif tag == "option" and "selected" in a and self.select:
                self.data[self.select] = a.get("value", "")
            elif (tag == "input" and a.get("name") and a.get("type") != "checkbox"
                  and (a.get("type") != "radio" or "checked" in a)):
                self.data.setdefault(a["name"], a.get("value") or "")

    parser = Inputs()
    parser.feed(page[page.index('action="' + url):])
    assert parser.data["cycle_1_start"] == start.isoformat()
    response = client.post(url, parser.data)  # saved as shown, nothing retyped
    assert response.status_code == 302


def test_the_top_message_names_and_links_each_field_with_a_problem(as_user, nurse, patient):
    response = as_user(nurse).post(reverse("treatment_plan", args=[patient.pk]), {
        "planned_cycles": "2", "cycle_1_start": "", "bag_hours": "36",
        "changed_by": "day_unit"})
    assert response.status_code == 400
    page = response.content.decode()
    assert '<a href="#id_cycle_1_start">Cycle 1 start</a>: This field is required.' in page
    assert '<a href="#id_bag_hours">Bag duration</a>:' in page


def test_a_team_admin_sees_the_plan_but_cannot_change_it(as_user, team_admin, patient):
    client = as_user(team_admin)
    assert client.get(reverse("treatment_plan", args=[patient.pk])).status_code == 200
    response = client.post(reverse("treatment_plan", args=[patient.pk]),
                           {"planned_cycles": "5", "changed_by": "day_unit"})
    assert response.status_code == 404
    assert patient.treatment_plan.planned_cycles == 2


def test_visits_are_booked_in_the_patients_zone_and_cancelled(as_user, nurse, patient):
    patient.time_zone = "America/New_York"
    patient.save()
    client = as_user(nurse)
    day = date.today() + timedelta(days=10)
    response = client.post(reverse("clinic_visit_add", args=[patient.pk]),
                           {"day": day.isoformat(), "at": "09:30", "place": "Day unit"})
    assert response.status_code == 302
    visit = ClinicVisit.objects.get(patient=patient)
    assert visit.starts_at.astimezone(patient.tz).time() == time(9, 30)
    assert calendar.next_visit(patient, timezone.now()) == visit
    client.post(reverse("clinic_visit_cancel", args=[visit.pk]))
    visit.refresh_from_db()
    assert visit.cancelled_by == nurse
    assert calendar.next_visit(patient, timezone.now()) is None


def test_a_time_skipped_by_the_clocks_is_refused_by_name(patient, nurse):
    with pytest.raises(services.VisitRefused) as refused:
        services.visit_add(patient=patient, by=nurse, day=date(2026, 3, 29), at=time(1, 30),
                           now=datetime(2026, 3, 1, tzinfo=UTC))
    assert set(refused.value.errors) == {"at"}


# Where the patient is, shown to everyone ---------------------------------------------------

def test_the_home_page_shows_where_the_patient_is_and_the_next_visit(as_user, patient,
                                                                      nurse):
    plan_set(patient, patient.local_today() - timedelta(days=11), 2)
    ClinicVisit.objects.create(patient=patient, added_by=nurse,
                               starts_at=timezone.now() + timedelta(days=2))
    page = as_user(patient.user).get(reverse("home")).content.decode()
    assert "Cycle 1, infusion day 12 of 28" in page
    assert "Next clinic visit:" in page
    assert "none booked" not in page


def test_the_queue_row_and_the_export_say_cycle_and_phase(as_user, nurse, patient):
    from symptoms.exports import CSV_FIELDS
    from tests.alerts.conftest import record

    plan_set(patient, patient.local_today() - timedelta(days=30), 2)
    record(patient, patient.user, temperature_c=38.5)  # red: an alert in the queue
    queue = as_user(nurse).get(reverse("alert_list")).content.decode()
    assert "cycle 1, break, day 3 of 14" in queue
    csv_text = b"".join(as_user(nurse).get(
        reverse("export_csv", args=[patient.pk])).streaming_content).decode()
    header, row = csv_text.splitlines()[:2]
    cells = dict(zip(header.split(","), row.split(","), strict=False))
    assert {"cycle", "phase", "phase_day"} <= set(CSV_FIELDS)
    assert (cells["cycle"], cells["phase"], cells["phase_day"]) == ("1", "break", "3")


# The calendar feed ------------------------------------------------------------------------

FORBIDDEN = ("blinatumomab", "blincyto", "leukaemia", "leukemia", "cancer", "chemo",
             "haematology", "hematology", "oncology", "infusion")


def _feed_for(client, patient) -> str:
    response = client.post(reverse("calendar_feed_create", args=[patient.pk]))
    assert response.status_code == 200
    url = response.context["url"] if "url" in response.context else \
        response.context["new_feed_url"]
    # The link is built from SITE_URL (never the Host header): keep its path.
    return "/calendar/" + url.split("/calendar/", 1)[1]


def test_the_feed_parses_and_has_the_events_and_no_forbidden_words(client, as_user, child,
                                                                   caregiver, nurse):
    child.time_zone = "Europe/Paris"
    child.save()
    child.care_team.name = "Leukaemia Day Unit"
    child.care_team.save()
    plan_set(child, child.local_today() - timedelta(days=3), 2)
    TreatmentPlan.objects.filter(patient=child).update(bag_hours=48,
                                                       usual_change_time=time(10))
    ClinicVisit.objects.create(patient=child, added_by=nurse, place="Haematology unit",
                               starts_at=timezone.now() + timedelta(days=5))
    path = _feed_for(as_user(caregiver), child)
    response = client.get(path)  # no sign-in: a phone fetches it
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert response["Cache-Control"].startswith("no-store")
    assert response["Referrer-Policy"] == "no-referrer"
    body = response.content.decode()
    parsed = Calendar.from_ical(body)
    events = list(parsed.walk("VEVENT"))
    titles = [str(e["SUMMARY"]) for e in events]
    assert titles.count(TITLE_VISIT) == 1
    # Infusion days left in cycle 1 (today is day 4): days 4-28, then cycle 2's 28 within
    # eight weeks partly; at least the rest of this cycle.
    assert titles.count(TITLE_CHECK_IN) >= 25
    bags = sorted(e.decoded("DTSTART") for e in events if str(e["SUMMARY"]) == TITLE_BAG)
    assert bags
    assert all(b.tzinfo is not None for b in bags)
    assert "DTSTART;TZID=Europe/Paris:" in body
    assert "BEGIN:VTIMEZONE" in body
    assert {(b2 - b1) for b1, b2 in pairwise(bags)} >= {timedelta(hours=48)}
    lowered = body.lower()
    for word in (*FORBIDDEN, child.hospital_number.lower(), child.display_name.lower()):
        assert word not in lowered, word


@pytest.mark.parametrize(("changed_by", "text"), [
    ("day_unit", "The day unit changes the bag"), ("home_nurse", "A home nurse comes"),
    ("trained_caregiver", "Record it on Homeline once done")])
def test_bag_events_say_who_changes_the_bag_and_uids_show_no_database_id(
        child, nurse, changed_by, text):
    plan_set(child, child.local_today() - timedelta(days=3), 2)
    TreatmentPlan.objects.filter(patient=child).update(
        bag_hours=48, usual_change_time=time(10), changed_by=changed_by)
    ClinicVisit.objects.create(patient=child, added_by=nurse,
                               starts_at=timezone.now() + timedelta(days=5))
    now = timezone.now()
    events = list(feed_calendar(child, now).walk("VEVENT"))
    bag_texts = {str(e["DESCRIPTION"]) for e in events if str(e["SUMMARY"]) == TITLE_BAG}
    assert len(bag_texts) == 1
    assert text in bag_texts.pop()
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids)
    for uid in uids:
        assert re.fullmatch(r"[0-9a-f]{32}@homeline", uid), uid
    # Stable across fetches: a calendar app updates the same events.
    assert uids == [str(e["UID"]) for e in feed_calendar(child, now).walk("VEVENT")]


def test_a_revoked_or_unknown_token_is_404(client, as_user, patient):
    path = _feed_for(as_user(patient.user), patient)
    assert client.get(path).status_code == 200
    feed = CalendarFeed.objects.get(patient=patient)
    assert len(feed.token_digest) == 64
    assert feed.token_digest not in path  # only the digest is stored, never the token
    as_user(patient.user).post(reverse("calendar_feed_revoke", args=[feed.pk]))
    assert client.get(path).status_code == 404
    assert client.get(reverse("calendar_feed", args=["x" * 43])).status_code == 404


def test_a_caregiver_cannot_make_or_revoke_another_patients_feed(as_user, caregiver,
                                                                 patient, child):
    theirs = services.feed_create(patient=patient, by=patient.user)[0]
    stranger = as_user(caregiver)
    assert stranger.post(reverse("calendar_feed_create", args=[patient.pk])).status_code == 404
    assert stranger.post(reverse("calendar_feed_revoke", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert CalendarFeed.objects.filter(patient=patient).count() == 1


def test_an_ended_caregiver_link_cannot_make_a_feed(as_user, child):
    ended = CaregiverLinkFactory(patient=child, caregiver=UserFactory(role=Role.CAREGIVER),
                                 ends_at=timezone.now() - timedelta(minutes=1))
    response = as_user(ended.caregiver).post(reverse("calendar_feed_create", args=[child.pk]))
    assert response.status_code == 404
    assert not CalendarFeed.objects.filter(patient=child).exists()


def test_the_feed_path_is_redacted_from_logs():
    assert redact('"GET /calendar/AbC_12-xyz.ics HTTP/1.1" 200') == (
        '"GET /calendar/[redacted] HTTP/1.1" 200')


def test_a_patient_without_a_plan_has_an_empty_but_valid_feed(db, client, as_user):
    patient = PatientFactory(infusion_start_date=None, user=UserFactory(role=Role.PATIENT))
    path = _feed_for(as_user(patient.user), patient)
    parsed = Calendar.from_ical(client.get(path).content)
    assert list(parsed.walk("VEVENT")) == []
