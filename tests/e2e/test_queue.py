"""A caregiver's red check-in reaches the nurse's open queue without a reload; the nurse
acknowledges and resolves it; the caregiver's history shows it dealt with."""

from __future__ import annotations

import re
import time

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, base, email, device=None):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if device is not None:
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        page.get_by_label("6-digit code").fill(f"{code:06d}")
        page.get_by_role("button", name="Continue").click()


def test_red_check_in_appears_in_the_open_queue_and_is_worked(
    live_server, browser, settings, nurse, caregiver, child
):
    settings.QUEUE_REFRESH_SECONDS = 2
    base = live_server.url

    nurse_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(nurse_page, base, nurse.email,
            TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True))
    nurse_page.goto(f"{base}/alerts/")
    expect(nurse_page.get_by_text("No open alerts.")).to_be_visible()
    loaded_at = nurse_page.evaluate("performance.timeOrigin")

    family = browser.new_context(**PHONE).new_page()
    sign_in(family, base, caregiver.email)
    family.get_by_role("link", name="Record today's check-in").click()
    family.get_by_label("Temperature", exact=True).fill("38.6")
    family.get_by_role("button", name="Send check-in").click()
    expect(family.locator('[data-severity="red"]')).to_be_visible()
    saved = time.monotonic()

    # The nurse's page was not reloaded: the row arrives by the poll, marked as new.
    row = nurse_page.locator('[data-severity="red"]', has_text=child.display_name)
    expect(row).to_be_visible(timeout=8_000)
    assert time.monotonic() - saved < 8
    assert nurse_page.evaluate("performance.timeOrigin") == loaded_at
    expect(row).to_have_class(re.compile(r"\bnew-red\b"))
    expect(nurse_page.locator("#alert-counts .sev-red")).to_have_text("1")
    assert "new red" in nurse_page.title()

    row.get_by_role("button", name="Acknowledge").click()
    row = nurse_page.locator('[data-severity="red"]', has_text=child.display_name)
    expect(row).to_contain_text(f"acknowledged by {nurse.full_name}")
    row.get_by_role("link", name="Resolve…").click()
    nurse_page.get_by_label("Outcome").select_option(label="Advice given")
    nurse_page.get_by_label("Note").fill("Advised paracetamol is not to be taken; attending")
    nurse_page.get_by_role("button", name="Resolve").click()
    expect(nurse_page.get_by_text("Resolved.")).to_be_visible()

    family.get_by_role("link", name="See history").click()
    expect(family.locator('[data-alert-state="resolved"]')).to_contain_text(
        "Dealt with by your care team: advice given")
