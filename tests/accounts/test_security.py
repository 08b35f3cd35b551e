"""Lockout, staff two-factor and its enrolment, idle timeout, CSRF and session rotation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import enrolment
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": email, "password": password}, **extra)


def current_code(device):
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_patient_signs_in_with_email_in_any_case(client, patient):
    response = sign_in(client, "SAM@example.org")
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_five_failures_lock_the_account_even_with_the_right_password(client, patient):
    for _ in range(5):
        sign_in(client, "sam@example.org", "wrong password")
    response = sign_in(client, "sam@example.org")
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302  # still signed out


def test_lockout_is_per_address_too(patient, nurse):
    client = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(5):
        sign_in(client, f"nobody{n}@example.org", "guess")
    # A different account from the same address is refused as well.
    assert sign_in(client, "sam@example.org").status_code == 429
    # The account itself is not locked from elsewhere.
    assert sign_in(Client(REMOTE_ADDR="198.51.100.7"), "sam@example.org").status_code == 302


def test_lockout_ends_after_the_cool_off(client, patient):
    for _ in range(5):
        sign_in(client, "sam@example.org", "wrong")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert sign_in(client, "sam@example.org").status_code == 302


def test_admin_login_is_locked_out_too(client, db):
    from accounts.models import User

    User.objects.create_superuser("root@example.org", PASSWORD, full_name="Root")
    for _ in range(5):
        client.post("/admin/login/", {"username": "root@example.org", "password": "x"})
    response = client.post(
        "/admin/login/", {"username": "root@example.org", "password": PASSWORD}
    )
    assert response.status_code == 429


def test_staff_must_enrol_in_two_factor_before_any_page(client, nurse, patient):
    sign_in(client, nurse.email)
    response = client.get(reverse("patient_detail", args=[patient.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_setup"))


def test_staff_enrol_with_a_correct_code_and_then_reach_pages(client, nurse, patient):
    sign_in(client, nurse.email)
    code = enrolment.enrolment_code_issue(user=nurse, issued_by=None)
    client.post(reverse("two_factor_code"), {"code": code})
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=nurse)
    wrong = client.post(reverse("two_factor_setup"), {"token": "000000"
                        if current_code(device) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["token"]
    # django-otp throttles a device for a moment after a wrong code.
    with time_machine.travel(timezone.now() + timedelta(seconds=3)):
        device.refresh_from_db()
        client.post(reverse("two_factor_setup"), {"token": current_code(device)})
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("patient_detail", args=[patient.pk])).status_code == 200


def test_enrolled_staff_must_enter_a_code_at_each_sign_in(client, nurse, patient):
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    sign_in(client, nurse.email)
    blocked = client.get(reverse("staff_home"))
    assert blocked["Location"].startswith(reverse("two_factor_verify"))
    client.post(reverse("two_factor_verify"), {"token": current_code(device)})
    assert client.get(reverse("staff_home")).status_code == 200


def test_admin_site_requires_a_verified_second_factor(client, db):
    from accounts.models import User

    User.objects.create_superuser("root@example.org", PASSWORD, full_name="Root")
    sign_in(client, "root@example.org")
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "two-factor" in response["Location"]


def test_patients_do_not_need_two_factor(client, patient):
    sign_in(client, "sam@example.org")
    assert client.get(reverse("home")).status_code == 200


def test_idle_patient_is_signed_out_after_30_minutes(client, patient):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sign_in(client, "sam@example.org")
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(timedelta(minutes=29))
        assert client.get(reverse("home")).status_code == 200  # activity resets the clock
        traveller.shift(timedelta(minutes=29))
        assert client.get(reverse("home")).status_code == 200
        traveller.shift(timedelta(minutes=31))
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        assert "_auth_user_id" not in client.session


def test_idle_staff_are_signed_out_after_15_minutes(as_user, nurse):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client = as_user(nurse)
        assert client.get(reverse("staff_home")).status_code == 200
        traveller.shift(timedelta(minutes=14))
        assert client.get(reverse("staff_home")).status_code == 200
        traveller.shift(timedelta(minutes=16))
        assert client.get(reverse("staff_home"))["Location"].startswith(reverse("login"))


def test_background_refresh_does_not_keep_a_session_alive(as_user, nurse):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        client = as_user(nurse)
        client.get(reverse("staff_home"))
        for _ in range(4):
            traveller.shift(timedelta(minutes=5))
            client.get(reverse("staff_home"), HTTP_X_HOMELINE_BACKGROUND="1")
        assert client.get(reverse("staff_home"))["Location"].startswith(reverse("login"))


def test_login_requires_csrf_token(patient):
    client = Client(enforce_csrf_checks=True)
    response = sign_in(client, "sam@example.org")
    assert response.status_code == 403
    page = client.get(reverse("login"))
    token = page.cookies["csrftoken"].value
    ok = client.post(reverse("login"), {"username": "sam@example.org", "password": PASSWORD,
                                        "csrfmiddlewaretoken": token})
    assert ok.status_code == 302


def test_session_key_is_rotated_at_login(client, patient):
    client.get(reverse("login"))
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    sign_in(client, "sam@example.org")
    assert client.session.session_key != before


def test_logout_is_post_only(client, patient):
    sign_in(client, "sam@example.org")
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_pages_are_never_cached(client, patient):
    sign_in(client, "sam@example.org")
    response = client.get(reverse("home"))
    assert "no-store" in response["Cache-Control"]


def test_passwords_are_hashed_with_argon2_outside_tests(settings):
    from django.contrib.auth.hashers import get_hasher

    # Tests put a fast hasher first; the configured production order starts with Argon2.
    assert settings.PASSWORD_HASHERS[-2].endswith("Argon2PasswordHasher")
    assert get_hasher("argon2").algorithm == "argon2"


# Lockout counts the account sign-in reaches, whatever the letter case -----------------------

def from_address(n: int) -> Client:
    """A client at its own address, so that only the per-account count can lock."""
    return Client(REMOTE_ADDR=f"203.0.113.{n}")


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_failures_in_one_case_lock_the_account_in_every_case(nurse, url):
    for n in range(5):
        from_address(n).post(url, {"username": "nurse@example.org", "password": "wrong"})
    for spelling in ("NURSE@Example.org", " nurse@EXAMPLE.ORG ", "nurse@example.org"):
        response = from_address(99).post(url, {"username": spelling, "password": PASSWORD})
        assert response.status_code == 429, spelling


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_guesses_spread_over_case_variants_lock_at_the_limit(nurse, url):
    variants = ["nurse@example.org", "NURSE@example.org", "Nurse@Example.org",
                "nUrSe@eXaMpLe.OrG", "NURSE@EXAMPLE.ORG", "nurse@Example.Org"]
    answers = [
        from_address(n).post(url, {"username": variants[n % len(variants)],
                                   "password": "guess"}).status_code
        for n in range(12)
    ]
    # The fifth failure locks the account, whichever spelling each guess used.
    assert answers[:4] == [200] * 4
    assert answers[4:] == [429] * 8
    assert sign_in(from_address(50), "nurse@example.org").status_code == 429


def test_guesses_at_a_name_without_an_account_are_counted_together_in_any_case(db):
    from axes.models import AccessAttempt

    for n, name in enumerate(["Ghost@Example.org", "ghost@example.org", "GHOST@EXAMPLE.ORG",
                              "ghost@EXAMPLE.org", "gHost@example.ORG"]):
        sign_in(from_address(n), name, "guess")
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {
        "ghost@example.org"}
    assert sign_in(from_address(60), "GhOsT@example.org", "guess").status_code == 429


def test_any_authenticate_call_counts_the_normalised_name(nurse):
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    factory = RequestFactory()
    for n in range(5):
        request = factory.post("/somewhere/", REMOTE_ADDR=f"198.51.100.{n}")
        assert authenticate(request, username="Nurse@EXAMPLE.org", password="x") is None
    request = factory.post("/somewhere/", REMOTE_ADDR="198.51.100.99")
    assert authenticate(request, username="nurse@example.org", password=PASSWORD) is None
    assert request.axes_locked_out


# A successful sign-in clears only its own account's failures from its own address ----------

def test_own_sign_in_does_not_wipe_failures_against_another_account(nurse, patient):
    guesser = Client(REMOTE_ADDR="203.0.113.70")
    for _ in range(2):
        for _ in range(4):
            sign_in(guesser, "nurse@example.org", "guess")
        sign_in(guesser, "sam@example.org")  # the guesser's own account
        guesser.post(reverse("logout"))
    assert sign_in(Client(REMOTE_ADDR="198.51.100.70"), "nurse@example.org").status_code == 429


def test_own_sign_in_clears_own_typos_from_that_address(patient):
    person = Client(REMOTE_ADDR="203.0.113.71")
    for _ in range(3):
        for _ in range(4):
            sign_in(person, "SAM@example.org", "typo")
        assert sign_in(person, "sam@example.org").status_code == 302
        person.post(reverse("logout"))


def test_own_sign_in_keeps_failures_from_other_addresses(patient):
    guesser = Client(REMOTE_ADDR="203.0.113.72")
    for _ in range(4):
        sign_in(guesser, "sam@example.org", "guess")
    owner = Client(REMOTE_ADDR="198.51.100.72")
    assert sign_in(owner, "sam@example.org").status_code == 302
    owner.post(reverse("logout"))
    sign_in(guesser, "sam@example.org", "guess")
    assert sign_in(Client(REMOTE_ADDR="198.51.100.73"), "sam@example.org").status_code == 429


# The session key changes at every step up -----------------------------------------------------

def old_session_still_verified(old_key: str) -> bool:
    stale = Client()
    stale.cookies["sessionid"] = old_key
    return stale.get(reverse("staff_home")).status_code == 200


def test_session_key_is_rotated_when_the_code_is_verified(client, nurse):
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    sign_in(client, nurse.email)
    before = client.session.session_key
    client.post(reverse("two_factor_verify"), {"token": current_code(device)})
    assert client.get(reverse("staff_home")).status_code == 200
    assert client.session.session_key != before
    assert not old_session_still_verified(before)


def test_session_key_is_rotated_when_the_authenticator_is_confirmed(client, nurse):
    sign_in(client, nurse.email)
    client.post(reverse("two_factor_code"),
                {"code": enrolment.enrolment_code_issue(user=nurse, issued_by=None)})
    client.get(reverse("two_factor_setup"))
    before = client.session.session_key
    device = TOTPDevice.objects.get(user=nurse)
    client.post(reverse("two_factor_setup"), {"token": current_code(device)})
    assert client.get(reverse("staff_home")).status_code == 200
    assert client.session.session_key != before
    assert not old_session_still_verified(before)
    assert enrolment.SESSION_KEY not in client.session  # the grant was good for one enrolment


# First enrolment needs the invitation's session or an admin's one-time code -----------------

def test_the_password_alone_cannot_enrol_an_authenticator(client, nurse):
    sign_in(client, nurse.email)
    page = client.get(reverse("staff_home"))
    setup = client.get(page["Location"])
    assert setup.status_code == 302
    assert setup["Location"].startswith(reverse("two_factor_code"))
    assert not TOTPDevice.objects.filter(user=nurse).exists()  # no secret was shown
    client.post(reverse("two_factor_setup"), {"token": "123456"})
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    assert client.get(reverse("staff_home")).status_code == 302


def accept_staff_invitation(client, team_admin, team, email="new.nurse@example.org"):
    from accounts import services
    from accounts.models import Role, User

    _invitation, token = services.invitation_create(
        created_by=team_admin, care_team=team, email=email, full_name="New Nurse",
        role=Role.NURSE)
    # The emailed link, then the page it leads to (wherever that is).
    page = client.get(reverse("invitation_accept", args=[token]))
    form_url = page["Location"] if page.status_code == 302 else page.request["PATH_INFO"]
    response = client.post(form_url, {
        "full_name": "New Nurse", "password1": "a long new passphrase 7",
        "password2": "a long new passphrase 7"})
    assert response.status_code == 302, response.content.decode()[:500]
    return User.objects.get(email=email)


def test_accepting_the_invitation_lets_that_session_enrol(client, team_admin, team):
    user = accept_staff_invitation(client, team_admin, team)
    page = client.get(reverse("two_factor_setup"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    client.post(reverse("two_factor_setup"), {"token": current_code(device)})
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("staff_home")).status_code == 200


def test_another_session_after_the_invitation_needs_a_code(team_admin, team):
    user = accept_staff_invitation(Client(), team_admin, team)
    elsewhere = Client()
    sign_in(elsewhere, user.email, "a long new passphrase 7")
    assert elsewhere.get(reverse("two_factor_setup"))["Location"].startswith(
        reverse("two_factor_code"))


def test_an_enrolment_code_works_once_and_is_stored_hashed(nurse):
    from accounts.models import EnrolmentCode

    code = enrolment.enrolment_code_issue(user=nurse, issued_by=None)
    stored = EnrolmentCode.objects.get(user=nurse)
    assert code.replace("-", "") not in stored.code_hash
    first, second = Client(), Client()
    for c in (first, second):
        sign_in(c, nurse.email)
    # Typed in lower case with spaces: still the code.
    answer = first.post(reverse("two_factor_code"), {"code": code.lower().replace("-", " ")})
    assert answer["Location"].startswith(reverse("two_factor_setup"))
    assert first.get(reverse("two_factor_setup")).status_code == 200
    refused = second.post(reverse("two_factor_code"), {"code": code})
    assert refused.status_code == 200
    assert "not valid" in refused.context["form"].errors["code"][0]
    assert second.get(reverse("two_factor_setup")).status_code == 302


def test_an_enrolment_code_expires_and_belongs_to_one_person(nurse, clinician):
    code = enrolment.enrolment_code_issue(user=nurse, issued_by=None)
    other = Client()
    sign_in(other, clinician.email)
    assert other.post(reverse("two_factor_code"), {"code": code}).status_code == 200
    late = Client()
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        sign_in(late, nurse.email)
        assert late.post(reverse("two_factor_code"), {"code": code}).status_code == 200
        assert late.get(reverse("two_factor_setup")).status_code == 302


def test_a_new_code_replaces_the_previous_one(nurse):
    old = enrolment.enrolment_code_issue(user=nurse, issued_by=None)
    new = enrolment.enrolment_code_issue(user=nurse, issued_by=None)
    client = Client()
    sign_in(client, nurse.email)
    assert client.post(reverse("two_factor_code"), {"code": old}).status_code == 200
    assert client.post(reverse("two_factor_code"), {"code": new}).status_code == 302


def test_codes_are_only_for_staff(patient):
    with pytest.raises(enrolment.EnrolmentError):
        enrolment.enrolment_code_issue(user=patient.user, issued_by=None)


def test_operators_issue_a_code_from_the_command_line(nurse):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("enrolment_code", "NURSE@example.org", stdout=out)
    code = out.getvalue().rsplit(" ", 1)[-1].strip()
    client = Client()
    sign_in(client, nurse.email)
    assert client.post(reverse("two_factor_code"), {"code": code}).status_code == 302


def test_a_team_admin_issues_a_code_seen_once(as_user, team_admin, team, nurse):
    admin = as_user(team_admin)
    people = admin.get(reverse("team_people", args=[team.pk])).content.decode()
    assert reverse("enrolment_code_create", args=[nurse.pk]) in people
    page = admin.post(reverse("enrolment_code_create", args=[nurse.pk]), {"team": team.pk})
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    code = re.search(r'data-testid="enrolment-code"><code>([A-Z0-9-]+)</code>',
                     page.content.decode()).group(1)
    from accounts.models import EnrolmentCode

    assert EnrolmentCode.objects.get(user=nurse).issued_by == team_admin
    client = Client()
    sign_in(client, nurse.email)
    assert client.post(reverse("two_factor_code"), {"code": code}).status_code == 302
    assert client.get(reverse("two_factor_setup")).status_code == 200


def test_only_a_team_admin_of_their_team_issues_codes(as_user, team, team_admin, nurse,
                                                      other_team_nurse, clinician):
    from accounts.models import EnrolmentCode

    url = reverse("enrolment_code_create", args=[other_team_nurse.pk])
    assert as_user(team_admin).post(url, {"team": team.pk}).status_code == 404
    own = reverse("enrolment_code_create", args=[clinician.pk])
    assert as_user(nurse).post(own, {"team": team.pk}).status_code == 404
    assert not EnrolmentCode.objects.exists()


def test_entering_enrolment_codes_is_rate_limited_per_account(settings, nurse):
    settings.RATE_ENROLMENT_CODE = "2/h"
    client = Client()
    sign_in(client, nurse.email)
    for _ in range(2):
        assert client.post(reverse("two_factor_code"), {"code": "WRONG-CODE-0000"}
                           ).status_code == 200
    code = enrolment.enrolment_code_issue(user=nurse, issued_by=None)
    assert client.post(reverse("two_factor_code"), {"code": code}).status_code == 429
    # From another address the same account is still limited.
    elsewhere = Client(REMOTE_ADDR="198.51.100.90")
    sign_in(elsewhere, nurse.email)
    assert elsewhere.post(reverse("two_factor_code"), {"code": code}).status_code == 429


def test_failures_are_stored_under_the_account_as_sign_in_finds_it(nurse):
    from axes.models import AccessAttempt

    sign_in(from_address(1), "  NURSE@Example.ORG ", "wrong")
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == [
        "nurse@example.org"]


# A request refused because of an existing lock is not a new failure ---------------------------

def test_a_locked_address_cannot_lock_other_accounts_out(db):
    """Issue 11 follow-up (trial item 1): one wrong password each for five accounts locks
    the address; five more tries at victim6 from it are refused without counting, so the
    owner still signs in from elsewhere with the right password."""
    from axes.models import AccessAttempt

    from tests.factories import UserFactory

    for n in range(3, 8):
        UserFactory(email=f"victim{n}@example.org")
    attacker = Client(REMOTE_ADDR="203.0.113.5")
    answers = [sign_in(attacker, f"victim{n}@example.org", "wrong").status_code
               for n in range(3, 8)]
    assert answers == [200, 200, 200, 200, 429]  # the fifth failure locks the address
    for _ in range(5):
        assert sign_in(attacker, "victim6@example.org", "wrong").status_code == 429
    assert AccessAttempt.objects.get(username="victim6@example.org").failures_since_start == 1
    owner = Client(REMOTE_ADDR="198.51.100.6")
    assert sign_in(owner, "victim6@example.org").status_code == 302


def test_the_right_password_refused_by_an_account_lock_is_not_a_failure(patient):
    guesser = Client(REMOTE_ADDR="203.0.113.6")
    for _ in range(5):
        sign_in(guesser, "sam@example.org", "guess")
    owner = Client(REMOTE_ADDR="198.51.100.8")
    assert sign_in(owner, "sam@example.org").status_code == 429  # the account is locked
    from axes.models import AccessAttempt

    assert not AccessAttempt.objects.filter(ip_address="198.51.100.8").exists()
    # Nor does a locked address's try at another account count against that account.
    assert sign_in(guesser, "sam@example.org", "guess").status_code == 429
    assert AccessAttempt.objects.get(ip_address="203.0.113.6").failures_since_start == 5


# Every link in every email is built from SITE_URL, never from the request's Host ---------------

def _links(message) -> list[str]:
    bodies = [message.body] + [content for content, _ in getattr(message, "alternatives", [])]
    return [link for body in bodies for link in re.findall(r"https?://[^\s\"'<>]+", body)]


def test_password_reset_links_follow_site_url_not_the_host_header(settings, patient):
    from django.core import mail

    settings.SITE_URL = "https://homeline.example.org"
    settings.ALLOWED_HOSTS = ["localhost", "homeline.example.org", "testserver"]
    response = Client(HTTP_HOST="localhost:6666").post(
        reverse("password_reset"), {"email": "sam@example.org"})
    assert response.status_code == 302
    links = _links(mail.outbox[0])
    assert links
    assert all(link.startswith("https://homeline.example.org/accounts/reset/")
               for link in links), links
    assert "6666" not in mail.outbox[0].body


def test_invitation_links_follow_site_url_not_the_host_header(settings, nurse, child):
    from django.core import mail

    from tests.conftest import verified_client

    settings.SITE_URL = "https://homeline.example.org"
    settings.ALLOWED_HOSTS = ["localhost", "homeline.example.org", "testserver"]
    response = verified_client(nurse).post(
        reverse("invitation_create", args=[child.pk]),
        {"role": "caregiver", "full_name": "Dan Jones", "email": "dan@example.org",
         "relationship": "father", "may_log": "on"}, HTTP_HOST="localhost:6666")
    assert response.status_code == 302
    links = _links(mail.outbox[0])
    assert links
    assert all(link.startswith("https://homeline.example.org/") for link in links), links


# Every sign-in step parses its boxes strictly, with the sign-in form's messages ---------------

HOSTILE_EMAILS = [
    ("sam\x00@example.org", "Email address: contains a control character (NUL)"),
    ("sam@example.org\u202e", "Email address: contains an invisible text-direction character"),
    ("a" * 290 + "@example.org", "Email address: at most 254 characters"),
]


@pytest.mark.parametrize(("email", "message"), HOSTILE_EMAILS)
def test_password_reset_refuses_what_sign_in_refuses_naming_the_field(client, patient, email,
                                                                      message):
    from django.core import mail

    response = client.post(reverse("password_reset"), {"email": email})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not mail.outbox
    # The sign-in form says the same.
    assert message in sign_in(client, email).content.decode()


def _reset_form_url(client, user) -> str:
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    first = client.get(reverse("password_reset_confirm",
                               args=[uid, default_token_generator.make_token(user)]))
    assert first.status_code == 302
    return first["Location"]


@pytest.mark.parametrize(("password", "message"), [
    ("new password\x00 long enough", "New password: contains a control character (NUL)"),
    ("new password long enough\u202e", "New password: contains an invisible text-direction"),
    ("p" * 300, "New password: at most 256 characters"),
])
def test_set_and_change_password_boxes_are_strict(client, patient, password, message):
    url = _reset_form_url(client, patient.user)
    response = client.post(url, {"new_password1": password, "new_password2": password})
    assert response.status_code == 200
    assert message in response.content.decode()
    patient.user.refresh_from_db()
    assert patient.user.check_password(PASSWORD)

    assert sign_in(client, "sam@example.org").status_code == 302
    response = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": password, "new_password2": password})
    assert response.status_code == 200
    assert message in response.content.decode()
    response = client.post(reverse("password_change"), {
        "old_password": "x\x00y", "new_password1": "a", "new_password2": "a"})
    assert "Current password: contains a control character (NUL)" in response.content.decode()


@pytest.mark.parametrize(("value", "message"), [
    ("12\x003456", "contains a control character (NUL)"),
    ("1" * 300, "at most 8 characters"),
])
def test_two_factor_code_box_is_strict(client, nurse, value, message):
    TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    assert sign_in(client, nurse.email).status_code == 302
    response = client.post(reverse("two_factor_verify"), {"token": value})
    assert response.status_code == 200
    assert f"6-digit code from your authenticator app: {message}" in response.content.decode()


@pytest.mark.parametrize(("value", "message"), [
    ("ABCD\x00EFGH", "Enrolment code: contains a control character (NUL)"),
    ("A" * 300, "Enrolment code: at most 20 characters"),
])
def test_enrolment_code_box_is_strict(client, nurse, value, message):
    assert sign_in(client, nurse.email).status_code == 302
    response = client.post(reverse("two_factor_code"), {"code": value})
    assert response.status_code == 200
    assert message in response.content.decode()


@pytest.mark.parametrize(("data", "message"), [
    ({"username": "nurse\x00@example.org", "password": "x"},
     "Email address: contains a control character (NUL)"),
    ({"username": "a" * 290 + "@example.org", "password": "x"},
     "Email address: at most 254 characters"),
    ({"username": "nurse@example.org", "password": "x\x00y"},
     "Password: contains a control character (NUL)"),
    ({"username": "nurse@example.org", "password": PASSWORD, "otp_token": "12\x0034"},
     "Code from your authenticator app: contains a control character (NUL)"),
])
def test_admin_sign_in_boxes_are_strict(client, nurse, data, message):
    response = client.post("/admin/login/", data)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_a_body_over_the_upload_limit_answers_400_with_the_call_advice(client, db):
    """Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE itself; its page
    (templates/400.html, no database) still tells a patient to call."""
    response = client.post(reverse("password_reset"), {"email": "x" * 3_000_000})
    assert response.status_code == 400
    page = response.content.decode()
    assert "nothing was saved" in page
    assert "call your 24-hour hospital line now" in page
    assert 'href="tel:999"' in page
