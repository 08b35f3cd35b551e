"""An out-of-date Thresholds page never silently undoes a colleague's stricter value: the
form carries what it showed, and a save from a page that is no longer current is refused
(nothing written), with the values in force now, what changed, and the typed reason kept."""

from __future__ import annotations

import html
import re
import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from symptoms import services
from symptoms.models import ThresholdChange
from symptoms.thresholds import ruleset_for_patient
from tests.alerts.conftest import own_redis  # noqa: F401  (fixture)
from tests.nursing.test_patient_thresholds import DEFAULT_FORM

pytestmark = pytest.mark.django_db


def open_tab(client, patient) -> dict[str, str]:
    """The form as the page renders it: the blank boxes and the hidden `seen` token."""
    page = client.get(reverse("patient_thresholds", args=[patient.pk]))
    assert page.status_code == 200
    match = re.search(r'name="seen" value="([^"]+)"', page.content.decode())
    assert match, "the thresholds form carries what it showed"
    return {**DEFAULT_FORM, "seen": html.unescape(match.group(1))}


def save(client, patient, tab, **changes):
    return client.post(reverse("patient_thresholds", args=[patient.pk]), {**tab, **changes})


def test_an_old_tab_cannot_undo_a_stricter_headache_rule(as_user, nurse, clinician, patient):
    a, b = as_user(clinician), as_user(nurse)
    tab_a, tab_b = open_tab(a, patient), open_tab(b, patient)
    saved = save(a, patient, tab_a, headache__amber="1", reason="Migraine history")
    assert saved.status_code == 302

    stale = save(b, patient, tab_b, fever_high_c="37.8", reason="Consultant: fever 37.8")

    assert stale.status_code == 409
    patient.refresh_from_db()
    assert patient.thresholds == {"symptoms": {"headache": {"amber": 1}}}
    assert ruleset_for_patient(patient).symptoms["headache"].amber == 1
    assert ThresholdChange.objects.count() == 1
    body = stale.content.decode()
    assert "Not saved: these thresholds were changed" in body
    assert "Headache: amber from: the team&#x27;s value → 1" in body
    assert "Migraine history" in body  # who changed it and why
    assert "Fever: call at or above (°C): the team&#x27;s value → 37.8" in body  # yours
    form = stale.context["form"]
    assert form.initial["reason"] == "Consultant: fever 37.8"
    # The page now shows the values in force: the stricter headache grade is selected.
    assert form["headache__amber"].value() == "1"
    assert 'name="reason" id="id_reason" value="Consultant: fever 37.8"' in body

    # Saved again from the refreshed page, both changes are kept.
    tab_b = open_tab(b, patient)
    again = save(b, patient, tab_b, headache__amber="1", fever_high_c="37.8",
                 reason="Consultant: fever 37.8")
    assert again.status_code == 302
    patient.refresh_from_db()
    assert patient.thresholds == {"fever_high_c": "37.8",
                                  "symptoms": {"headache": {"amber": 1}}}


def test_the_same_page_saved_twice_is_refused_the_second_time(as_user, nurse, patient):
    client = as_user(nurse)
    tab = open_tab(client, patient)
    assert save(client, patient, tab, fever_high_c="37.5", reason="first").status_code == 302
    again = save(client, patient, tab, fever_high_c="37.6", reason="second")
    assert again.status_code == 409
    patient.refresh_from_db()
    assert patient.thresholds == {"fever_high_c": "37.5"}


def test_a_change_made_in_the_admin_site_also_makes_the_page_stale(as_user, nurse, patient):
    client = as_user(nurse)
    tab = open_tab(client, patient)
    # The admin site writes the field directly (no ThresholdChange row).
    type(patient).objects.filter(pk=patient.pk).update(thresholds={"spo2_red_below": 93})
    response = save(client, patient, tab, fever_high_c="37.5", reason="x")
    assert response.status_code == 409
    assert "Oxygen: red below (%): the team&#x27;s value → 93" in response.content.decode()
    patient.refresh_from_db()
    assert patient.thresholds == {"spo2_red_below": 93}


def test_a_forged_or_damaged_token_is_refused_not_trusted(as_user, nurse, patient):
    client = as_user(nurse)
    tab = open_tab(client, patient)
    tab["seen"] = tab["seen"][:-3] + "abc"
    response = save(client, patient, tab, fever_high_c="37.5", reason="x")
    assert response.status_code == 409
    patient.refresh_from_db()
    assert patient.thresholds == {}
    assert not ThresholdChange.objects.exists()


def test_the_service_checks_seen_for_a_team_too(team, patient, team_admin):
    seen = services.thresholds_seen_from_token(services.thresholds_seen_token(team))
    services.thresholds_set(changed_by=team_admin, reason="team policy",
                            overrides={"fever_high_c": "37.9"}, team=team, seen=seen)
    with pytest.raises(services.ThresholdsChangedMeanwhile):
        services.thresholds_set(changed_by=team_admin, reason="old page",
                                overrides={"spo2_red_below": 93}, team=team, seen=seen)
    team.refresh_from_db()
    assert team.thresholds == {"fever_high_c": "37.9"}


@pytest.mark.django_db(transaction=True)
def test_two_saves_from_one_page_at_the_same_moment_only_one_passes(nurse, clinician,
                                                                    patient):
    """PostgreSQL: the first save holds the patient row; the second waits on the lock,
    then sees the first one's overrides and is refused. A check done only before the lock
    (in the view) would let both pass."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only")
    seen = services.thresholds_seen_from_token(services.thresholds_seen_token(patient))
    first_saved, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        from django.db import transaction
        try:
            with transaction.atomic():
                services.thresholds_set(changed_by=clinician, reason="A",
                                        overrides={"symptoms": {"headache": {"amber": 1}}},
                                        patient=patient, seen=seen)
                first_saved.set()
                release.wait(10)
            outcome["first"] = "saved"
        finally:
            connections.close_all()

    def second() -> None:
        try:
            services.thresholds_set(changed_by=nurse, reason="B",
                                    overrides={"fever_high_c": "37.8"}, patient=patient,
                                    seen=seen)
            outcome["second"] = "saved"
        except services.ThresholdsChangedMeanwhile:
            outcome["second"] = "refused"
        finally:
            connections.close_all()

    one = threading.Thread(target=first)
    one.start()
    assert first_saved.wait(10)
    two = threading.Thread(target=second)
    two.start()
    # Wait until the second save is blocked on the patient row lock, then let the first commit.
    with connection.cursor() as cursor:
        for _ in range(200):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                           " AND datname = current_database()")
            if cursor.fetchone()[0]:
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the second save never waited for the first one's lock")
    release.set()
    one.join(10)
    two.join(10)
    assert outcome == {"first": "saved", "second": "refused"}
    patient.refresh_from_db()
    assert patient.thresholds == {"symptoms": {"headache": {"amber": 1}}}
    assert ThresholdChange.objects.filter(patient=patient).count() == 1


def test_under_production_settings_an_old_tab_is_refused(
    settings, own_redis, nurse, clinician, patient, team_admin  # noqa: F811 (the fixture)
):
    """Production's secret key, Redis cache, sessions and messages: the token the page
    carries is signed and checked with production's key; a page signed with another key
    (before a key change) is refused as stale, never trusted. Both whole-record forms."""
    from django.test import Client
    from django.urls import reverse as url_for

    from tests.alerts.test_lifecycle_production import production_settings
    from tests.conftest import verified_client

    old_token = open_tab(verified_client(nurse), patient)["seen"]  # the test key
    prod = production_settings(own_redis.url)
    assert "redis" in prod["CACHES"]["default"]["BACKEND"]
    # (The HTTPS redirect is nginx's and gunicorn's business, tested in tests/proxy.)
    for key in ("SECRET_KEY", "CACHES", "SESSION_ENGINE", "MESSAGE_STORAGE"):
        if key in prod:
            setattr(settings, key, prod[key])

    def client_for(user) -> Client:
        return verified_client(user)

    a, b = client_for(clinician), client_for(nurse)
    tab_a, tab_b = open_tab(a, patient), open_tab(b, patient)
    assert tab_a["seen"] != old_token
    assert save(a, patient, tab_a, headache__amber="1", reason="A").status_code == 302
    assert save(b, patient, tab_b, fever_high_c="37.8", reason="B").status_code == 409
    assert save(b, patient, {**open_tab(b, patient), "seen": old_token},
                fever_high_c="37.8", reason="B").status_code == 409
    patient.refresh_from_db()
    assert patient.thresholds == {"symptoms": {"headache": {"amber": 1}}}

    from tests.accounts.test_team_settings_stale_page import open_tab as open_settings
    team = patient.care_team
    admin_a, admin_b = client_for(team_admin), client_for(team_admin)
    settings_a, settings_b = open_settings(admin_a, team), open_settings(admin_b, team)
    url = url_for("team_settings", args=[team.pk])
    assert admin_a.post(url, {**settings_a, "line_phone": "+44 20 7946 0999"}).status_code == 302
    assert admin_b.post(url, {**settings_b, "red_escalation_minutes": "10"}).status_code == 409
    team.refresh_from_db()
    assert (team.line_phone, team.red_escalation_minutes) == ("+44 20 7946 0999", 15)
