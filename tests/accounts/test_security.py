"""Lockout, staff two-factor, idle timeout, CSRF and session rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

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
