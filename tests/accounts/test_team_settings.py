from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Membership

pytestmark = pytest.mark.django_db


def settings_payload(team, **changes):
    data = {
        "line_phone": team.line_phone, "emergency_number": team.emergency_number,
        "time_zone": team.time_zone, "check_in_cutoff": "20:00",
        "red_escalation_minutes": "15", "red_doctor_minutes": "30",
        "amber_escalation_minutes": "240", "duty_email": team.duty_email,
        "duty_phone": "", "escalation_email": team.escalation_email, "escalation_phone": "",
        "on_call_doctor_email": team.on_call_doctor_email, "on_call_doctor_phone": "",
        "alert_message_detail": team.alert_message_detail,
    }
    data.update(changes)
    return data


def test_team_admin_changes_the_24_hour_line_and_it_is_audited(as_user, team_admin, team):
    response = as_user(team_admin).post(
        reverse("team_settings", args=[team.pk]),
        settings_payload(team, line_phone="01632 960777", check_in_cutoff="19:30"),
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert team.line_phone == "01632 960777"
    assert team.check_in_cutoff.strftime("%H:%M") == "19:30"
    latest = team.history.latest()
    assert latest.history_user_id == team_admin.pk
    assert latest.line_phone == "01632 960777"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"line_phone": "call me"}, "line_phone"),
        ({"emergency_number": "9x9"}, "emergency_number"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"red_escalation_minutes": "0"}, "red_escalation_minutes"),
        ({"red_doctor_minutes": "10"}, "red_doctor_minutes"),
        ({"duty_email": "", "duty_phone": ""}, "duty_email"),
        ({"check_in_cutoff": "25:00"}, "check_in_cutoff"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(as_user, team_admin, team, changes, field):
    before = team.line_phone
    response = as_user(team_admin).post(reverse("team_settings", args=[team.pk]),
                                        settings_payload(team, **changes))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    team.refresh_from_db()
    assert team.line_phone == before


def test_nurse_cannot_change_team_settings(as_user, nurse, team):
    response = as_user(nurse).post(reverse("team_settings", args=[team.pk]),
                                   settings_payload(team, line_phone="01632 960555"))
    assert response.status_code == 404


def test_team_admin_removes_a_nurse_from_the_team(as_user, team_admin, nurse, patient):
    membership = Membership.objects.get(user=nurse)
    as_user(team_admin).post(reverse("membership_remove", args=[membership.pk]))
    assert not Membership.objects.filter(user=nurse).exists()
    assert Membership.history.filter(id=membership.pk, history_type="-").exists()
    from accounts import access

    assert not access.patients_for(nurse).exists()


def test_other_team_admin_cannot_remove_members(as_user, nurse, other_team):
    from tests.factories import StaffFactory

    outsider = StaffFactory(role="team_admin", team=other_team)
    membership = Membership.objects.get(user=nurse)
    assert as_user(outsider).post(reverse("membership_remove", args=[membership.pk])
                                  ).status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()
