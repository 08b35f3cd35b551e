"""A nurse on a phone resolves from a page opened before the alert turned red: refused, and
the page shows what changed (issue 10, kind 2)."""

from __future__ import annotations

import os

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from alerts.models import Alert, AlertState
from tests.alerts.conftest import record
from tests.e2e.conftest import PHONE
from tests.e2e.test_queue import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_resolve_from_an_amber_page_after_the_alert_turned_red_is_refused_on_a_phone(
    live_server, browser, nurse, patient, patient_user
):
    record(patient, patient_user, symptoms={"headache": 2})
    alert = Alert.objects.get()
    page = browser.new_context(**PHONE).new_page()
    sign_in(page, live_server.url, nurse.email,
            TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True))
    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    expect(page.get_by_text("Amber", exact=False).first).to_be_visible()

    # Meanwhile the patient reports 39.4 °C and a disconnected pump.
    record(patient, patient_user, temperature_c=39.4, pump="disconnected")

    page.get_by_label("Outcome").select_option(label="No action needed")
    page.get_by_label("Note").fill("no action needed")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text("changed since you opened it")).to_be_visible()
    new = page.locator(".check-in-new")
    expect(new).to_have_count(1)
    expect(new).to_contain_text("39.4")
    # Large targets on a phone: the buttons are at least 44 px high.
    box = page.get_by_role("button", name="Resolve").bounding_box()
    assert box is not None
    assert box["height"] >= 44
    if os.environ.get("P3_SHOTS"):
        page.screenshot(path=os.path.join(os.environ["P3_SHOTS"], "stale.png"), full_page=True)
    assert Alert.objects.get().state == AlertState.OPEN
