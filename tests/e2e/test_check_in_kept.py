"""In the browser: a check-in sent after the idle timeout, or from a tab whose sign-in was
renewed in another tab, is not saved and not lost (issue 10, newcomer trial items 1-2)."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import expect

from accounts.middleware import SESSION_KEY
from symptoms.models import CheckIn
from tests.e2e.conftest import PHONE
from tests.e2e.test_check_in import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def fill_check_in(page):
    page.get_by_label("Temperature", exact=True).fill("38.9")
    page.get_by_role("radiogroup", name="Headache").get_by_text("Moderate").click()
    page.get_by_label("Anything else your care team should know").fill("Hot and sleepy")


def expect_restored(page):
    expect(page.get_by_text("filled in below")).to_be_visible()
    expect(page.get_by_label("Temperature", exact=True)).to_have_value("38.9")
    expect(page.get_by_role("radiogroup", name="Headache").locator('input[value="2"]')
           ).to_be_checked()
    expect(page.get_by_label("Anything else your care team should know")).to_have_value(
        "Hot and sleepy")


def test_answers_sent_after_the_idle_timeout_come_back_after_signing_in(
        live_server, browser, caregiver, child):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, caregiver.email)
    page.goto(f"{live_server.url}/patients/{child.pk}/check-in/")
    fill_check_in(page)
    # The phone lies idle past the limit: the session's last activity is an hour ago.
    cookie = next(c for c in context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=cookie["value"])
    session[SESSION_KEY] = time.time() - 3600
    session.save()

    page.get_by_role("button", name="Send check-in").click()
    expect(page.get_by_text("Your answers are kept: sign in and check them, then send")
           ).to_be_visible()
    expect(page.get_by_text("call your 24-hour hospital line now")).to_be_visible()
    assert not CheckIn.objects.exists()
    page.get_by_label("Email address").fill(caregiver.email)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    expect_restored(page)
    assert not CheckIn.objects.exists()  # shown, not sent
    page.get_by_role("button", name="Send check-in").click()
    expect(page.locator("[data-severity]")).to_be_visible()
    assert CheckIn.objects.get().symptoms == {"headache": 2}
    context.close()


def test_form_from_before_signing_in_again_in_another_tab(live_server, browser, caregiver,
                                                          child):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, caregiver.email)
    page.goto(f"{live_server.url}/patients/{child.pk}/check-in/")
    fill_check_in(page)
    other = context.new_page()
    other.set_viewport_size({"width": 1200, "height": 800})  # the menu is open on a laptop
    other.goto(f"{live_server.url}/")
    other.get_by_role("button", name="Sign out").click()
    sign_in(other, live_server.url, caregiver.email)
    # Signed in again (the new session's cookie is set) before the tab goes: closing a tab
    # while its sign-in is still navigating can leave the browser waiting.
    expect(other.get_by_role("button", name="Sign out")).to_be_visible()
    other.close()

    # Back to the first tab, as the parent would: a background tab is not rendered, and a
    # click there can wait for a frame that never comes.
    page.bring_to_front()
    page.get_by_role("button", name="Send check-in").click()
    expect(page.get_by_role("heading", name="Your answers were not sent")).to_be_visible()
    expect(page.get_by_text("call your 24-hour hospital line now")).to_be_visible()
    assert not CheckIn.objects.exists()
    page.get_by_role("link", name="Open the form again").click()
    expect_restored(page)
    context.close()
