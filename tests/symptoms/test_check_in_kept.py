"""A check-in sent after the session idled out is not saved, and not lost either: its answers
come back pre-filled for the same person after signing in (issue 10, newcomer trial)."""

from __future__ import annotations

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

pytestmark = pytest.mark.django_db

ANSWERS = {"temperature": "38.9", "unit": "c", "symptom_headache": "2",
           "feels_suddenly_unwell": "on", "notes": "Hot and sleepy since lunch"}


def sign_in(client, email):
    return client.post(reverse("login"), {"username": email, "password": PASSWORD})


def idle_post(client, child, traveller, **extra):
    """Opens the form, idles past the 30 minute limit, then sends the answers."""
    url = reverse("check_in_new", args=[child.pk])
    assert client.get(url).status_code == 200
    traveller.shift(timedelta(minutes=31))
    key = str(uuid.uuid4())
    return client.post(url, {"submission_key": key, **ANSWERS}, **extra), key


def test_idle_check_in_is_kept_and_comes_back_for_the_same_caregiver(caregiver, child):
    client = Client()
    url = reverse("check_in_new", args=[child.pk])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert sign_in(client, "rosa@example.org").status_code == 302
        response, key = idle_post(client, child, traveller)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        assert "_auth_user_id" not in client.session
        assert not CheckIn.objects.exists()  # an expired session never saves

        login = client.get(response["Location"])
        page = login.content.decode()
        assert "Your answers are kept: sign in and check them, then send" in page
        assert "call your 24-hour hospital line now" in page  # the static call advice
        assert "after 30 minutes without activity" in page

        signed_in = client.post(response["Location"], {"username": "rosa@example.org",
                                                       "password": PASSWORD})
        assert signed_in["Location"] == url
        form_page = client.get(url)
        html = form_page.content.decode()
        assert "filled in below" in html
        assert "not been sent" in html
        form = form_page.context["form"]
        assert not form.is_bound  # shown again, never sent on their behalf
        assert form["temperature"].value() == "38.9"
        assert form["symptom_headache"].value() == "2"
        assert form["feels_suddenly_unwell"].value() is True
        assert form["notes"].value() == "Hot and sleepy since lunch"
        assert str(form["submission_key"].value()) == key
        assert 'value="38.9"' in html
        assert not CheckIn.objects.exists()

        # Taken once: a reload shows an empty form.
        assert client.get(url).context["form"]["temperature"].value() is None
        # Sending the restored answers saves the check-in once.
        sent = client.post(url, {"submission_key": key, **ANSWERS})
        assert sent.status_code == 302
        check_in = CheckIn.objects.get()
        assert str(check_in.temperature_c) == "38.9"
        assert check_in.symptoms == {"headache": 2}


def test_someone_else_signing_in_never_sees_the_kept_answers(caregiver, child):
    other = UserFactory(email="dad@example.org", full_name="Dan Jones", role="caregiver")
    CaregiverLinkFactory(patient=child, caregiver=other)
    client = Client()
    url = reverse("check_in_new", args=[child.pk])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "rosa@example.org")
        idle_post(client, child, traveller)
        assert KEPT_CHECK_IN_KEY in client.session
        assert sign_in(client, "dad@example.org").status_code == 302
        page = client.get(url)
        assert page.context["form"]["temperature"].value() is None
        assert "filled in below" not in page.content.decode()
        assert KEPT_CHECK_IN_KEY not in client.session  # dropped, not just hidden


def test_kept_answers_expire_after_two_hours(caregiver, child):
    client = Client()
    url = reverse("check_in_new", args=[child.pk])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "rosa@example.org")
        idle_post(client, child, traveller)
        traveller.shift(timedelta(hours=2, minutes=1))
        sign_in(client, "rosa@example.org")
        page = client.get(url)
        assert page.context["form"]["temperature"].value() is None
        assert "filled in below" not in page.content.decode()


def test_a_forged_post_is_never_kept(caregiver, child):
    client = Client(enforce_csrf_checks=True)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        login_page = client.get(reverse("login"))
        token = login_page.cookies["csrftoken"].value
        client.post(reverse("login"), {"username": "rosa@example.org", "password": PASSWORD,
                                       "csrfmiddlewaretoken": token})
        url = reverse("check_in_new", args=[child.pk])
        assert client.get(url).status_code == 200
        traveller.shift(timedelta(minutes=31))
        # No token: what another site's page could post.
        client.post(url, {"submission_key": str(uuid.uuid4()), **ANSWERS})
        assert KEPT_CHECK_IN_KEY not in client.session
        assert not CheckIn.objects.exists()


def test_other_pages_posted_after_idling_are_not_kept(caregiver, child):
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "rosa@example.org")
        client.get(reverse("home"))
        traveller.shift(timedelta(minutes=31))
        client.post(reverse("home"), {"temperature": "38.9"})
        assert KEPT_CHECK_IN_KEY not in client.session


def test_sign_out_message_says_1_minute(settings, caregiver, child):
    settings.SESSION_IDLE_SECONDS_PATIENT = 60
    client = Client()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        sign_in(client, "rosa@example.org")
        client.get(reverse("home"))
        traveller.shift(timedelta(minutes=2))
        page = client.get(reverse("home"), follow=True).content.decode()
        assert "after 1 minute without activity" in page


# ------------------------------------------------------------------ CSRF failure (item 2)

def signed_in_csrf_client(email, secure=False):
    client = Client(enforce_csrf_checks=True)
    token = client.get(reverse("login"), secure=secure).cookies["csrftoken"].value
    assert client.post(reverse("login"), {"username": email, "password": PASSWORD,
                                          "csrfmiddlewaretoken": token},
                       secure=secure, HTTP_ORIGIN=ORIGIN[secure]).status_code == 302
    return client


ORIGIN = {False: "http://testserver", True: "https://testserver"}


def stale_form_post(client, child, secure=False, **extra):
    """Opens the check-in form, signs out and in again (as in another tab: the token is
    rotated), then sends the form as it was."""
    url = reverse("check_in_new", args=[child.pk])
    old_token = str(client.get(url, secure=secure).context["csrf_token"])
    home_token = str(client.get(reverse("home"), secure=secure).context["csrf_token"])
    client.post(reverse("logout"), {"csrfmiddlewaretoken": home_token}, secure=secure,
                HTTP_ORIGIN=ORIGIN[secure])
    token = client.get(reverse("login"), secure=secure).cookies["csrftoken"].value
    assert client.post(reverse("login"), {"username": "rosa@example.org", "password": PASSWORD,
                                          "csrfmiddlewaretoken": token},
                       secure=secure, HTTP_ORIGIN=ORIGIN[secure]).status_code == 302
    return client.post(url, {"csrfmiddlewaretoken": old_token, "submission_key": str(uuid.uuid4()),
                             **ANSWERS}, secure=secure, **extra)


def test_stale_form_gets_a_page_with_the_call_advice_and_keeps_the_answers(caregiver, child):
    client = signed_in_csrf_client("rosa@example.org")
    response = stale_form_post(client, child, HTTP_ORIGIN="http://testserver")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Your answers were not sent" in page
    assert "call your 24-hour hospital line now" in page
    assert "Your answers are kept" in page
    assert "CSRF verification failed" not in page
    assert not CheckIn.objects.exists()
    form = client.get(reverse("check_in_new", args=[child.pk]))
    assert form.context["form"]["temperature"].value() == "38.9"
    assert "filled in below" in form.content.decode()


def test_stale_form_from_another_origin_or_none_keeps_nothing(caregiver, child):
    for extra in ({}, {"HTTP_ORIGIN": "https://evil.example"}):
        client = signed_in_csrf_client("rosa@example.org")
        response = stale_form_post(client, child, **extra)
        assert response.status_code == 403
        page = response.content.decode()
        assert "Your answers were not sent" in page
        assert "reload the page" in page
        assert "call your 24-hour hospital line now" in page
        assert KEPT_CHECK_IN_KEY not in client.session
        assert client.get(reverse("check_in_new", args=[child.pk])).context[
            "form"]["temperature"].value() is None
    assert not CheckIn.objects.exists()


def test_stale_form_over_https_with_production_cookies_keeps_the_answers(settings, caregiver,
                                                                         child):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = signed_in_csrf_client("rosa@example.org", secure=True)
    response = stale_form_post(client, child, secure=True, HTTP_ORIGIN="https://testserver")
    assert response.status_code == 403
    assert "Your answers are kept" in response.content.decode()
    form = client.get(reverse("check_in_new", args=[child.pk]), secure=True)
    assert form.context["form"]["temperature"].value() == "38.9"
    # An http:// origin on an https site is another origin: nothing kept.
    other = signed_in_csrf_client("rosa@example.org", secure=True)
    response = stale_form_post(other, child, secure=True, HTTP_ORIGIN="http://testserver")
    assert response.status_code == 403
    assert KEPT_CHECK_IN_KEY not in other.session


def test_production_settings_use_the_csrf_failure_page():
    from tests.test_headers import production_settings

    assert production_settings("CSRF_FAILURE_VIEW") == {
        "CSRF_FAILURE_VIEW": "symptoms.views.csrf_failure"}


def test_csrf_failure_page_renders_without_the_database(django_assert_max_num_queries):
    client = Client(enforce_csrf_checks=True)
    with django_assert_max_num_queries(0):
        response = client.post(reverse("login"), {"username": "x@example.org"})
    assert response.status_code == 403
    assert "call your 24-hour hospital line now" in response.content.decode()


# ------------------------------------------------------------------ error summary (item 4)

def test_error_summary_links_each_wrong_field_and_gives_the_call_advice(as_user, caregiver,
                                                                       child):
    client = as_user(caregiver)
    response = client.post(reverse("check_in_new", args=[child.pk]), {
        "submission_key": str(uuid.uuid4()), "unit": "c", "temperature": "37.0",
        "spo2": "9O", "stools_above_baseline": "three"})
    assert response.status_code == 400
    assert not CheckIn.objects.exists()
    html = response.content.decode()
    summary = html[html.index('id="check-in-errors"'):]
    summary = summary[:summary.index("</div>")]
    assert 'tabindex="-1"' in html[html.index('id="check-in-errors"') - 80:][:200]
    assert 'href="#id_spo2"' in summary
    assert 'href="#id_stools_above_baseline"' in summary
    assert "Enter a whole number in digits, like 97." in summary
    assert "Enter a whole number in digits, like 2." in summary
    assert "36.8" not in summary
    assert "If you feel unwell, do not wait: call" in summary
    assert f'href="tel:{child.care_team.line_phone.replace(" ", "")}"' in summary
    assert "Nothing has been saved yet." in summary


def test_temperature_keeps_its_decimal_example(as_user, caregiver, child):
    client = as_user(caregiver)
    response = client.post(reverse("check_in_new", args=[child.pk]), {
        "submission_key": str(uuid.uuid4()), "unit": "c", "temperature": "3a"})
    assert response.status_code == 400
    assert response.context["form"].errors["temperature"] == [
        "Enter a number in digits, like 36.8."]


def test_symptom_error_links_to_its_first_choice(as_user, caregiver, child):
    client = as_user(caregiver)
    response = client.post(reverse("check_in_new", args=[child.pk]), {
        "submission_key": str(uuid.uuid4()), "unit": "c", "symptom_headache": "9"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'href="#id_symptom_headache_0"' in html
    assert 'id="id_symptom_headache_0"' in html


# ------------------------------------------------------------------ wording (item 5)

def test_caregiver_is_asked_about_the_child_not_about_i(as_user, caregiver, child):
    html = as_user(caregiver).get(reverse("check_in_new", args=[child.pk])).content.decode()
    assert "Maya Jones has taken paracetamol, ibuprofen or steroids" in html
    assert "Maya Jones suddenly feels unwell" in html
    assert "Maya Jones cannot keep fluids down" in html
    assert "No pump: Maya Jones is on a treatment break" in html
    assert "Unsteady on their feet" in html
    assert "If Maya Jones is very unwell" in html
    assert "I have taken" not in html
    assert "I suddenly feel" not in html
    assert "I cannot keep" not in html
    assert "No pump: i am" not in html


def test_nurse_entering_for_a_patient_is_asked_about_the_patient(as_user, nurse, patient):
    html = as_user(nurse).get(reverse("check_in_new", args=[patient.pk])).content.decode()
    assert "Sam Patel suddenly feels unwell" in html
    assert "I suddenly feel" not in html


def test_patient_is_still_asked_in_the_first_person(as_user, patient):
    html = as_user(patient.user).get(reverse("check_in_new", args=[patient.pk])).content.decode()
    assert "I suddenly feel unwell" in html
    assert "No pump: I am on a treatment break" in html
    assert "No pump: i am" not in html


# ------------------------------------------------------------------ result page (item 6)

def test_result_page_shows_every_answered_field(as_user, caregiver, child):
    client = as_user(caregiver)
    response = client.post(reverse("check_in_new", args=[child.pk]), {
        "submission_key": str(uuid.uuid4()), "unit": "c", "temperature": "36.9",
        "antipyretic_last_6h": "on", "feels_suddenly_unwell": "on",
        "stools_above_baseline": "3", "diarrhoea_with_blood": "on",
        "vomiting_episodes_24h": "2", "unable_to_keep_fluids": "on",
        "pump": "not_connected", "spo2": "97", "systolic_bp": "118", "heart_rate": "92",
        "symptom_headache": "1", "notes": "Tired"})
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    recorded = html[html.index("What was recorded"):]
    for line in ("Temperature 36.9", "Headache: ", "Notes: Tired",
                 "Paracetamol, ibuprofen or steroids in the last 6 hours: yes",
                 "Suddenly unwell: yes", "Bowel movements above normal in 24 hours: 3",
                 "Blood in the diarrhoea: yes", "Times sick (vomited) in 24 hours: 2",
                 "Cannot keep fluids down: yes",
                 "Pump: no pump: Maya Jones is on a treatment break",
                 "Oxygen level: 97 %", "Blood pressure, top number: 118 mmHg",
                 "Heart rate: 92 beats a minute"):
        assert line in recorded, line


def test_result_page_leaves_out_what_was_not_answered(as_user, patient):
    client = as_user(patient.user)
    response = client.post(reverse("check_in_new", args=[patient.pk]), {
        "submission_key": str(uuid.uuid4()), "unit": "c", "temperature": "36.9"})
    html = client.get(response["Location"]).content.decode()
    recorded = html[html.index("What was recorded"):]
    for words in ("Pump:", "Oxygen level", "Heart rate", "Suddenly unwell", "Times sick"):
        assert words not in recorded
