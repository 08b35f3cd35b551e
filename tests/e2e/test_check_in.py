"""A caregiver records a red check-in on a phone and sees the 24-hour number."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from symptoms.models import CheckIn
from tests.e2e.conftest import PHONE
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_caregiver_records_a_red_check_in_on_a_phone(live_server, browser, caregiver, child,
                                                     tmp_path):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, caregiver.email)
    page.get_by_role("link", name="Record today's check-in").click()
    page.get_by_label("Temperature", exact=True).fill("38.3")
    # Grades are large buttons; pick "Moderate" for a headache with the keyboard-usable labels.
    page.get_by_role("radiogroup", name="Headache").get_by_text("Moderate").click()
    page.screenshot(path=str(tmp_path / "form.png"), full_page=False)
    page.get_by_role("button", name="Send check-in").click()

    advice = page.locator('[data-severity="red"]')
    expect(advice).to_contain_text("Call your 24-hour hospital line now")
    call = advice.get_by_role("link", name=child.care_team.line_phone)
    expect(call).to_be_visible()
    assert call.get_attribute("href") == "tel:" + child.care_team.line_phone.replace(" ", "")
    # Large enough to hit with a thumb, and fits in a 360 px screen.
    box = call.bounding_box()
    assert box["height"] >= 48
    assert box["x"] + box["width"] <= 360

    check_in = CheckIn.objects.get()
    assert check_in.severity == "red"
    assert check_in.recorded_by == caregiver
    assert {f["rule"] for f in check_in.findings} >= {"temperature_high", "headache"}
    page.get_by_role("link", name="See history").click()
    expect(page.get_by_role("cell", name="Red")).to_be_visible()
    context.close()


def test_check_in_form_is_usable_with_the_keyboard_alone(live_server, browser, patient):
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server.url, patient.user.email)
    page.goto(f"{live_server.url}/patients/{patient.pk}/check-in/")
    page.get_by_label("Temperature", exact=True).focus()
    page.keyboard.type("36.7")
    page.get_by_role("button", name="Send check-in").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Thank you, your check-in is recorded.")).to_be_visible()
    context.close()
