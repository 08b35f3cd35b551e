"""On a phone: a parent leaves the neuro-only check open past the idle timeout, then taps
"cannot be woken or does not respond". Nothing is saved (the timeout protects shared
phones), but the sign-in page and then the neuro page itself open with the emergency
advice, and the kept answers come back on that page."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import expect

from accounts.middleware import SESSION_KEY
from symptoms.models import CheckIn
from tests.e2e.conftest import PHONE
from tests.e2e.test_check_in import sign_in
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def first_on_screen(page, first: str, then: str) -> bool:
    """Whether `first` is drawn above `then` (both measured at once: the page may scroll
    between two separate measurements)."""
    return page.evaluate(
        "([a, b]) => document.querySelector(a).getBoundingClientRect().bottom"
        " <= document.querySelector(b).getBoundingClientRect().top", [first, then])


def test_cannot_be_woken_after_the_idle_timeout_comes_back_with_the_emergency_advice(
        live_server, browser, caregiver, child):
    today = child.local_today()
    child.date_of_birth = today.replace(year=today.year - 7)  # the CAPD
    child.save(update_fields=["date_of_birth"])
    team = child.care_team
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, caregiver.email)
    page.goto(f"{live_server.url}/patients/{child.pk}/check-in/neuro/")
    page.get_by_label("Anything else your care team should know").fill("Staring, no answer")
    # The phone lies idle past the limit: the session's last activity is an hour ago.
    cookie = next(c for c in context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=cookie["value"])
    session[SESSION_KEY] = time.time() - 3600
    session.save()

    page.get_by_role("button", name=f"{child.display_name} cannot be woken or does not "
                                    "respond").click()
    # The sign-in page says to call before anything else.
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    call = page.locator("#kept-emergency").get_by_role("link", name="999")
    expect(call).to_be_visible()
    assert first_on_screen(page, "#kept-emergency", "h1")
    assert not CheckIn.objects.exists()
    page.get_by_label("Email address").fill(caregiver.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Back on the neuro page: the team's emergency number and 24-hour line first.
    expect(page).to_have_url(f"{live_server.url}/patients/{child.pk}/check-in/neuro/")
    advice = page.locator("#kept-emergency")
    emergency = advice.get_by_role("link", name=team.emergency_number)
    line = advice.get_by_role("link", name=team.line_phone)
    expect(emergency).to_be_visible()
    expect(line).to_be_visible()
    assert emergency.get_attribute("href") == f"tel:{team.emergency_number.replace(' ', '')}"
    assert line.get_attribute("href") == f"tel:{team.line_phone.replace(' ', '')}"
    expect(page.get_by_role("heading", name=f"Behaviour check for {child.display_name}")
           ).to_be_visible()
    assert first_on_screen(page, "#kept-emergency", "h1")
    assert line.bounding_box()["height"] >= 44
    expect(page.locator("#restored-answers")).to_contain_text("not been sent")
    expect(page.get_by_label("Anything else your care team should know")).to_have_value(
        "Staring, no answer")
    assert not CheckIn.objects.exists()  # shown, never sent on their behalf

    page.get_by_role("button", name=f"{child.display_name} cannot be woken or does not "
                                    "respond").click()
    expect(page.locator('[data-severity="red"]')).to_be_visible()
    check_in = CheckIn.objects.get()
    assert check_in.emergency
    assert check_in.notes == "Staring, no answer"
    context.close()
