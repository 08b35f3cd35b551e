"""A neuro-only check-in (/patients/<id>/check-in/neuro/) sent after the session idled out is
not saved and not lost: its answers come back pre-filled on that same page for the same
person after signing in, and a kept "cannot be woken or does not respond" tap opens the page
with the emergency advice (clinical-rules.md, `emergency`: "Call 999 now" first, then the
24-hour line), because the caregiver's last action was an emergency."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import KEPT_CHECK_IN_KEY
from symptoms.models import CheckIn
from tests.factories import PASSWORD, CaregiverLinkFactory, UserFactory
from tests.symptoms.test_neuro_check_in import CAPD_FIELDS, born_years_ago, on_infusion

pytestmark = pytest.mark.django_db

# A CAPD for a 7-year-old as a parent would answer it, with a worry and a note.
CAPD_ANSWERS = {**{name: "2" for name in CAPD_FIELDS}, "capd_restless": "4", "worry": "2",
                "notes": "Staring and not answering"}


@pytest.fixture
def child7(child):
    born_years_ago(child, 7)
    return child


def sign_in(client, email):
    return client.post(reverse("login"), {"username": email, "password": PASSWORD})


def sign_in_again(client, login_url):
    """Signs Rosa in from the sign-in page the timeout sent her to (its ?next= kept)."""
    return client.post(login_url, {"username": "rosa@example.org", "password": PASSWORD})


def idle_neuro_post(client, patient, traveller, answers):
    """Opens the neuro-only page, idles past the 30 minute limit, then sends `answers`."""
    url = reverse("check_in_neuro", args=[patient.pk])
    assert client.get(url).status_code == 200
    traveller.shift(timedelta(minutes=31))
    key = str(uuid.uuid4())
    return client.post(url, {"submission_key": key, **answers}), key


def test_idle_neuro_check_is_kept_and_comes_back_on_the_neuro_page(caregiver, child7):
    client = Client()
    url = reverse("check_in_neuro", args=[child7.pk])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "rosa@example.org")
        response, key = idle_neuro_post(client, child7, traveller, CAPD_ANSWERS)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        assert not CheckIn.objects.exists()  # an expired session never saves
        login = client.get(response["Location"]).content.decode()
        assert "Your answers are kept: sign in and check them, then send" in login
        assert 'id="kept-emergency"' not in login  # no emergency was tapped

        signed_in = sign_in_again(client, response["Location"])
        assert signed_in["Location"] == url  # back on the page it was sent from
        # The daily form is another page: it neither shows nor takes the neuro answers.
        daily = client.get(reverse("check_in_new", args=[child7.pk]))
        assert "filled in below" not in daily.content.decode()
        assert KEPT_CHECK_IN_KEY in client.session

        page = client.get(url)
        html = page.content.decode()
        assert "filled in below" in html
        assert "not been sent" in html
        assert html.index('id="restored-answers"') < html.index('class="check-in-form"')
        assert 'id="kept-emergency"' not in html
        form = page.context["form"]
        assert not form.is_bound  # shown again, never sent on their behalf
        assert form["capd_restless"].value() == "4"
        assert form["capd_eye_contact"].value() == "2"
        assert form["worry"].value() == "2"
        assert form["notes"].value() == "Staring and not answering"
        assert str(form["submission_key"].value()) == key
        assert not CheckIn.objects.exists()
        assert KEPT_CHECK_IN_KEY not in client.session  # taken once

        sent = client.post(url, {"submission_key": key, **CAPD_ANSWERS})
        assert sent.status_code == 302
        check_in = CheckIn.objects.get()
        assert check_in.neuro_tool == "capd"
        assert check_in.notes == "Staring and not answering"


def test_kept_cannot_be_woken_tap_opens_the_page_with_the_emergency_advice(caregiver, child7):
    client = Client()
    url = reverse("check_in_neuro", args=[child7.pk])
    team = child7.care_team
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "rosa@example.org")
        response, key = idle_neuro_post(client, child7, traveller,
                                        {"neuro_unresponsive": "1"})
        assert response.status_code == 302
        assert not CheckIn.objects.exists()
        # The sign-in page, the very next thing the parent sees, says to call first.
        login = client.get(response["Location"]).content.decode()
        assert login.index('id="kept-emergency"') < login.index("<h1")
        assert 'href="tel:999"' in login

        signed_in = sign_in_again(client, response["Location"])
        assert signed_in["Location"] == url
        page = client.get(url)
        html = page.content.decode()
        content = html[html.index("<main"):]
        # Before anything else of the page: the emergency number, then the 24-hour line.
        assert content.index('id="kept-emergency"') < content.index("<h1")
        advice = content[content.index('id="kept-emergency"'):content.index("<h1")]
        emergency = team.emergency_number.replace(" ", "")
        phone = team.line_phone.replace(" ", "")
        assert f'href="tel:{emergency}"' in advice
        assert f'href="tel:{phone}"' in advice
        assert advice.index(f'href="tel:{emergency}"') < advice.index(f'href="tel:{phone}"')
        assert "not been sent" in advice
        assert "Maya Jones still cannot be woken" in advice
        assert "filled in below" in html
        # The tap is never replayed into the form: nothing is sent until tapped again.
        assert not page.context["form"]["neuro_unresponsive"].value()
        assert not CheckIn.objects.exists()

        again = client.post(url, {"submission_key": key, "neuro_unresponsive": "1"})
        assert again.status_code == 302
        assert CheckIn.objects.get().emergency
        # Taken once: the next visit is an ordinary page.
        assert 'id="kept-emergency"' not in client.get(url).content.decode()


@pytest.fixture
def second_caregiver(child7):
    """Another caregiver of the same child, who may share the family's phone."""
    return CaregiverLinkFactory(
        patient=child7, caregiver=UserFactory(email="dad@example.org", full_name="Dan Jones",
                                              role="caregiver")).caregiver


def test_someone_else_signing_in_never_sees_the_kept_neuro_answers(caregiver, child7,
                                                                  second_caregiver):
    client = Client()
    url = reverse("check_in_neuro", args=[child7.pk])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "rosa@example.org")
        idle_neuro_post(client, child7, traveller, {**CAPD_ANSWERS, "neuro_unresponsive": "1"})
        assert KEPT_CHECK_IN_KEY in client.session
        assert sign_in(client, second_caregiver.email).status_code == 302
        page = client.get(url)
        html = page.content.decode()
        assert page.context["form"]["capd_restless"].value() is None
        assert page.context["form"]["notes"].value() is None
        assert "filled in below" not in html
        assert 'id="kept-emergency"' not in html
        assert "Staring and not answering" not in html
        assert KEPT_CHECK_IN_KEY not in client.session  # dropped, not just hidden
    assert not CheckIn.objects.exists()


def test_daily_form_answers_are_not_shown_on_the_neuro_page(caregiver, child7):
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "rosa@example.org")
        daily = reverse("check_in_new", args=[child7.pk])
        client.get(daily)
        traveller.shift(timedelta(minutes=31))
        client.post(daily, {"submission_key": str(uuid.uuid4()), "unit": "c",
                            "temperature": "38.9", "notes": "Hot"})
        sign_in(client, "rosa@example.org")
        neuro = client.get(reverse("check_in_neuro", args=[child7.pk]))
        assert "filled in below" not in neuro.content.decode()
        assert neuro.context["form"]["notes"].value() is None
        assert client.get(daily).context["form"]["temperature"].value() == "38.9"


def test_answers_kept_before_pages_were_recorded_are_the_daily_forms(as_user, caregiver,
                                                                     child7):
    """A session kept by the previous release (no "page") still restores the daily form."""
    client = as_user(caregiver)
    session = client.session
    session[KEPT_CHECK_IN_KEY] = {"user_id": caregiver.pk, "patient_id": child7.pk,
                                  "kept_at": time.time(), "fields": {"notes": ["Tired"]}}
    session.save()
    assert "filled in below" not in client.get(
        reverse("check_in_neuro", args=[child7.pk])).content.decode()
    form = client.get(reverse("check_in_new", args=[child7.pk])).context["form"]
    assert form["notes"].value() == "Tired"


ORIGIN = "http://testserver"


def test_stale_neuro_page_keeps_its_answers_and_offers_the_neuro_page_again(caregiver, child7):
    client = Client(enforce_csrf_checks=True)
    token = client.get(reverse("login")).cookies["csrftoken"].value
    client.post(reverse("login"), {"username": "rosa@example.org", "password": PASSWORD,
                                   "csrfmiddlewaretoken": token}, HTTP_ORIGIN=ORIGIN)
    url = reverse("check_in_neuro", args=[child7.pk])
    old_token = str(client.get(url).context["csrf_token"])
    home_token = str(client.get(reverse("home")).context["csrf_token"])
    client.post(reverse("logout"), {"csrfmiddlewaretoken": home_token}, HTTP_ORIGIN=ORIGIN)
    token = client.get(reverse("login")).cookies["csrftoken"].value
    client.post(reverse("login"), {"username": "rosa@example.org", "password": PASSWORD,
                                   "csrfmiddlewaretoken": token}, HTTP_ORIGIN=ORIGIN)
    response = client.post(url, {"csrfmiddlewaretoken": old_token,
                                 "submission_key": str(uuid.uuid4()), **CAPD_ANSWERS},
                           HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Your answers are kept" in html
    assert f'href="{url}"' in html
    assert client.get(url).context["form"]["capd_restless"].value() == "4"
    assert not CheckIn.objects.exists()


def test_kept_cannot_be_woken_tap_from_the_daily_form_opens_it_with_the_advice(patient):
    """The daily form holds the same button on an infusion day (its neuro check is due)."""
    on_infusion(patient)
    client = Client()
    url = reverse("check_in_new", args=[patient.pk])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.post(reverse("login"), {"username": patient.user.email, "password": PASSWORD})
        assert client.get(url).status_code == 200
        traveller.shift(timedelta(minutes=31))
        client.post(url, {"submission_key": str(uuid.uuid4()), "neuro_unresponsive": "1"})
        assert not CheckIn.objects.exists()
        client.post(reverse("login"), {"username": patient.user.email, "password": PASSWORD})
        html = client.get(url).content.decode()
        content = html[html.index("<main"):]
        assert content.index('id="kept-emergency"') < content.index("<h1")
        assert "If they still cannot be woken or do not respond, call" in content
        emergency = patient.care_team.emergency_number.replace(" ", "")
        assert f'href="tel:{emergency}"' in content[:content.index("<h1")]
    assert not CheckIn.objects.exists()
