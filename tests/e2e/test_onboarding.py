"""A nurse invites a caregiver; the caregiver sets a password and lands on their child."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in_staff(page, base, user):
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    page.get_by_label("6-digit code").fill(f"{code:06d}")
    page.get_by_role("button", name="Continue").click()


def test_nurse_invites_caregiver_who_lands_on_their_childs_page(
    live_server, browser, nurse, child
):
    nurse_context = browser.new_context()
    page = nurse_context.new_page()
    sign_in_staff(page, live_server.url, nurse)
    page.get_by_role("table").get_by_role("link", name=child.display_name).click()
    page.get_by_role("link", name="Caregivers and login").click()
    page.get_by_role("link", name="Invite the patient or a caregiver").click()
    page.get_by_label("Caregiver (parent or carer)").check()
    page.get_by_label("Their name").fill("Dan Jones")
    page.get_by_label("Their email address").fill("dan@example.org")
    page.get_by_label("Relationship").fill("father")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to dan@example.org")).to_be_visible()
    nurse_context.close()

    (message,) = mail.outbox
    link = re.search(r"https?://\S+/invitation/\S+/", message.body).group(0)
    path = link.split("/accounts/", 1)[1]

    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    page.goto(f"{live_server.url}/accounts/{path}")
    page.get_by_label("Choose a password").fill("a long new pass phrase 42")
    page.get_by_label("Type the password again").fill("a long new pass phrase 42")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name=child.display_name)).to_be_visible()
    # The 24-hour line is on every page a caregiver sees.
    expect(page.get_by_role("link", name=child.care_team.line_phone)).to_be_visible()
    phone.close()
