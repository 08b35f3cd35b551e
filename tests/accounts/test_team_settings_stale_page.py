"""An out-of-date Team settings tab never silently puts back the old 24-hour number: the
form carries what it showed, and a save of a page that is no longer current is refused
(nothing written) with what changed."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import CareTeam
from accounts.team_views import TeamSettingsForm
from tests.accounts.test_team_settings import settings_payload

pytestmark = pytest.mark.django_db


def open_tab(client, team) -> dict[str, str]:
    page = client.get(reverse("team_settings", args=[team.pk]))
    assert page.status_code == 200
    match = re.search(r'name="seen" value="([^"]+)"', page.content.decode())
    assert match, "the settings form carries what it showed"
    return {**settings_payload(team), "seen": html.unescape(match.group(1))}


def test_an_old_tab_cannot_put_back_the_old_24_hour_number(as_user, team_admin, team):
    a, b = as_user(team_admin), as_user(team_admin)
    tab_a, tab_b = open_tab(a, team), open_tab(b, team)
    old_line = team.line_phone
    saved = a.post(reverse("team_settings", args=[team.pk]),
                   {**tab_a, "line_phone": "+44 20 7946 0999"})
    assert saved.status_code == 302

    stale = b.post(reverse("team_settings", args=[team.pk]),
                   {**tab_b, "red_escalation_minutes": "10"})

    assert stale.status_code == 409
    team.refresh_from_db()
    assert team.line_phone == "+44 20 7946 0999"
    assert team.red_escalation_minutes == 15
    body = stale.content.decode()
    assert "Not saved: these settings were changed" in body
    assert f"24-hour line: {old_line} → +44 20 7946 0999" in body
    assert "+44 20 7946 0999 → " + old_line in body  # what the old page would have set
    # The form now shows the number in force, with a fresh token that saves.
    assert stale.context["form"]["line_phone"].value() == "+44 20 7946 0999"
    retry = b.post(reverse("team_settings", args=[team.pk]),
                   {**open_tab(b, team), "red_escalation_minutes": "10"})
    assert retry.status_code == 302
    team.refresh_from_db()
    assert (team.line_phone, team.red_escalation_minutes) == ("+44 20 7946 0999", 10)


def test_the_same_page_saved_twice_is_refused_the_second_time(as_user, team_admin, team):
    client = as_user(team_admin)
    tab = open_tab(client, team)
    url = reverse("team_settings", args=[team.pk])
    assert client.post(url, {**tab, "duty_phone": "+44 7700 900123"}).status_code == 302
    assert client.post(url, {**tab, "duty_phone": "+44 7700 900456"}).status_code == 409
    team.refresh_from_db()
    assert team.duty_phone == "+44 7700 900123"


def test_a_damaged_token_is_refused_and_nothing_written(as_user, team_admin, team):
    client = as_user(team_admin)
    tab = open_tab(client, team)
    tab["seen"] = "not-a-token"
    response = client.post(reverse("team_settings", args=[team.pk]),
                           {**tab, "line_phone": "+44 20 7946 0111"})
    assert response.status_code == 409
    assert CareTeam.objects.get(pk=team.pk).line_phone == team.line_phone


def test_the_service_refuses_under_the_lock(team):
    fields = TeamSettingsForm.Meta.fields
    token = services.team_settings_seen_token(team, fields)
    values = services.team_settings_snapshot(team, fields)
    first = {name: getattr(team, name) for name in fields} | {"line_phone": "+44 20 7946 0222"}
    services.team_settings_save(team=team, values=first, seen=token)
    second = {name: getattr(team, name) for name in fields} | {"duty_phone": "+44 7700 900999"}
    with pytest.raises(services.TeamSettingsChangedMeanwhile) as refused:
        services.team_settings_save(team=team, values=second, seen=token)
    assert ("24-hour line", values["line_phone"], "+44 20 7946 0222") in refused.value.changed
    team.refresh_from_db()
    assert team.line_phone == "+44 20 7946 0222"
    assert team.duty_phone != "+44 7700 900999"
