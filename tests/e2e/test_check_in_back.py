"""Back after a sent check-in shows a clean form: never a half-restored one that saves a
second, partial check-in (issue 10, newcomer trial item 3)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from symptoms.models import CheckIn
from tests.e2e.conftest import PHONE
from tests.e2e.test_check_in import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_back_after_send_shows_a_clean_form(live_server, browser, caregiver, child):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, caregiver.email)
    page.goto(f"{live_server.url}/patients/{child.pk}/check-in/")
    first_key = page.locator('input[name="submission_key"]').input_value()
    page.get_by_label("Temperature", exact=True).fill("36.9")
    page.get_by_role("radiogroup", name="Headache").get_by_text("Moderate").click()
    page.get_by_role("button", name="Send check-in").click()
    expect(page.locator("[data-severity]")).to_be_visible()
    assert CheckIn.objects.count() == 1

    page.go_back()
    expect(page.get_by_role("button", name="Send check-in")).to_be_visible()
    expect(page.get_by_label("Temperature", exact=True)).to_have_value("")
    # Only the markup's defaults are ticked: "Not answered" and °C.
    answered = page.locator('input[type="radio"]:checked:not([value=""]):not([name="unit"])')
    assert answered.count() == 0
    expect(page.get_by_role("radiogroup", name="Headache").locator(
        'input[value=""]')).to_be_checked()
    assert page.locator('input[type="checkbox"]:checked').count() == 0
    assert page.locator('input[name="submission_key"]').input_value() != first_key

    # Sending the form as Back left it saves nothing more.
    page.get_by_role("button", name="Send check-in").click()
    expect(page.get_by_text("Nothing was filled in")).to_be_visible()
    assert CheckIn.objects.count() == 1
    context.close()


def test_error_summary_takes_the_focus_and_links_to_the_field(live_server, browser, caregiver,
                                                              child):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, caregiver.email)
    page.goto(f"{live_server.url}/patients/{child.pk}/check-in/")
    page.get_by_label("Temperature", exact=True).fill("37.0")
    page.get_by_label("Oxygen level (%) from a home oximeter").fill("9O")
    page.get_by_role("button", name="Send check-in").click()
    summary = page.locator("#check-in-errors")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("If you feel unwell, do not wait: call")
    # The answers typed are still there (a re-shown form is not reset).
    expect(page.get_by_label("Temperature", exact=True)).to_have_value("37.0")
    summary.get_by_role("link", name="Oxygen level (%) from a home oximeter").click()
    expect(page.get_by_label("Oxygen level (%) from a home oximeter")).to_be_in_viewport()
    assert not CheckIn.objects.exists()
    context.close()
