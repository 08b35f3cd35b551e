"""The staff home: who has not checked in today, whose caregiver access ends soon."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.models import CareTeam
from nursing.selectors import links_ending_soon, not_checked_in_today
from symptoms import services
from tests.factories import CaregiverLinkFactory, PatientFactory, plan_set
from triage.validation import parse_check_in

pytestmark = pytest.mark.django_db


def teams(team):
    return CareTeam.objects.filter(pk=team.pk)


def check_in(patient, when):
    services.check_in_record(
        patient=patient, recorded_by=patient.user or patient.caregiver_links.first().caregiver,
        data=parse_check_in({"recorded_at": when.isoformat(), "temperature_c": 36.7}),
        submission_key=uuid.uuid4(), now=when + timedelta(minutes=1),
    )


def test_patient_on_infusion_without_a_check_in_today_is_listed(team, patient):
    assert not_checked_in_today(teams(team)) == [patient]
    check_in(patient, timezone.now() - timedelta(minutes=5))
    assert not_checked_in_today(teams(team)) == []


def test_yesterdays_check_in_does_not_count_for_today(team, patient):
    now = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Europe/London"))
    plan_set(patient, date(2026, 11, 15))
    with time_machine.travel(now, tick=False):
        check_in(patient, now - timedelta(hours=10))  # 23:00 the evening before
        assert not_checked_in_today(teams(team), now=now) == [patient]


def test_today_is_the_patients_own_day(team, patient):
    # 03:00 in London is still the evening before in New York.
    patient.time_zone = "America/New_York"
    patient.save()
    plan_set(patient, date(2026, 11, 15))
    london_3am = datetime(2026, 11, 20, 3, 0, tzinfo=ZoneInfo("Europe/London"))
    with time_machine.travel(london_3am, tick=False):
        check_in(patient, london_3am - timedelta(hours=2))  # 20:00 in New York, the 19th
        assert not_checked_in_today(teams(team), now=london_3am) == []


def test_patients_on_a_treatment_break_are_not_listed(team, patient):
    plan_set(patient, date.today() - timedelta(days=30))  # day 31: the break
    assert not_checked_in_today(teams(team)) == []


def test_links_ending_within_a_week_are_listed(team, child):
    soon = CaregiverLinkFactory(patient=child, ends_at=timezone.now() + timedelta(days=3))
    CaregiverLinkFactory(patient=child, ends_at=timezone.now() + timedelta(days=30))
    CaregiverLinkFactory(patient=child, ends_at=timezone.now() - timedelta(days=1))
    assert list(links_ending_soon(teams(team))) == [soon]


def test_staff_home_shows_both_lists_for_the_nurses_team_only(as_user, nurse, patient,
                                                              other_patient, child):
    CaregiverLinkFactory(patient=child, ends_at=timezone.now() + timedelta(days=2))
    page = as_user(nurse).get(reverse("staff_home"))
    html = page.content.decode()
    assert patient.display_name in html
    assert other_patient.display_name not in html
    assert len(page.context["links_ending"]) == 1


@pytest.mark.parametrize("extra", [2, 40])
def test_staff_home_query_count_does_not_grow(as_user, nurse, team, extra,
                                              django_assert_num_queries):
    for _ in range(extra):
        link = CaregiverLinkFactory(patient=PatientFactory(care_team=team),
                                    ends_at=timezone.now() + timedelta(days=1))
        check_in(link.patient, timezone.now() - timedelta(days=1))
    client = as_user(nurse)
    client.get(reverse("staff_home"))
    # The same at 2 and at 40 patients; one of them asks the read log what it already has,
    # two read the treatment plans' cycle rows (the list's positions, who is on infusion).
    with django_assert_num_queries(14):
        client.get(reverse("staff_home"))
