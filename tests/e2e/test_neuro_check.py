"""The neurological self-check on a phone (issue 13): a caregiver does the CAPD for a
7-year-old inside the daily check-in, one question per screen; an adult on their own does
the ICE check from the home page's link, and a red result shows the 24-hour number."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from symptoms.models import CheckIn
from tests.e2e.conftest import PHONE
from tests.factories import PASSWORD
from treatment.models import TreatmentCycle, TreatmentPlan

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def on_infusion(patient):
    plan, _ = TreatmentPlan.objects.get_or_create(patient=patient)
    plan.cycles.all().delete()
    TreatmentCycle.objects.create(plan=plan, number=1,
                                  start_date=patient.local_today() - timedelta(days=3))


def visible_steps(page):
    return page.locator(".neuro-step:visible")


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two computed colours ("rgb(10, 61, 145)")."""
    def luminance(colour: str) -> float:
        channels = [float(c) / 255 for c in re.findall(r"[\d.]+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
                  for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def answer(page, question, choice):
    page.get_by_role("radiogroup", name=question).get_by_text(choice, exact=True).click()


def test_caregiver_does_a_capd_for_a_seven_year_old(live_server, browser, caregiver, child):
    today = child.local_today()
    child.date_of_birth = today.replace(year=today.year - 7)
    child.save(update_fields=["date_of_birth"])
    on_infusion(child)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, caregiver.email)
    page.get_by_role("link", name="Record today's check-in").click()
    expect(page.get_by_role("heading", name="Behaviour check")).to_be_visible()
    name = child.display_name
    # Items 1-4 "sometimes" (2 points each, reversed), 5 "often" (3), 6-8 "never": 11.
    answers = [(f"{name} makes eye contact with you", "Sometimes"),
               (f"{name}'s actions are purposeful", "Sometimes"),
               (f"{name} is aware of their surroundings", "Sometimes"),
               (f"{name} communicates needs and wants", "Sometimes"),
               (f"{name} is restless", "Often"),
               (f"{name} is inconsolable", "Never"),
               (f"{name} is underactive, with very little movement while awake", "Never"),
               (f"{name} takes a long time to respond to interactions", "Never")]
    for number, (question, choice) in enumerate(answers, start=1):
        # One question per screen, with its place in the check.
        expect(visible_steps(page)).to_have_count(1)
        expect(visible_steps(page)).to_contain_text(f"Question {number} of 8")
        answer(page, question, choice)
        if number == 2:
            # Back shows the question before, its answer kept.
            page.get_by_role("button", name="Back").click()
            expect(page.get_by_role("radiogroup", name=answers[0][0])
                   .get_by_role("radio", name="Sometimes")).to_be_checked()
            page.get_by_role("button", name="Next").click()
        nxt = page.get_by_role("button", name="Finish the check" if number == 8 else "Next")
        box = nxt.bounding_box()
        assert box["height"] >= 44
        assert box["x"] + box["width"] <= 360
        nxt.click()
    expect(page.get_by_text("Check finished.")).to_be_visible()
    answer(page, f"How worried are you about {name} today?", "Quite")
    page.get_by_role("button", name="Send check-in").click()

    advice = page.locator('[data-severity="red"]')
    expect(advice).to_contain_text("Call your 24-hour hospital line now")
    expect(advice).to_contain_text("score 11 of 32")
    check_in = CheckIn.objects.get()
    assert check_in.capd_score == 11
    assert check_in.neuro_tool == "capd"
    assert check_in.worry == 2
    assert {f["rule"] for f in check_in.findings} == {"neuro_capd"}
    context.close()


def test_an_adult_does_an_ice_check_and_a_red_result_shows_the_24_hour_number(
        live_server, browser, patient):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, patient.user.email)
    page.get_by_role("link", name="I'm worried about how I am thinking or behaving").click()
    expect(page.get_by_role("heading", name="Thinking check", exact=True)).to_be_visible()
    steps = page.locator(".neuro-step")
    expect(steps).to_have_count(10)
    for number in range(1, 11):
        step = visible_steps(page)
        expect(step).to_have_count(1)
        expect(step).to_contain_text(f"Question {number} of 10")
        if number in (5, 6, 7):
            picture = step.get_by_role("img")
            expect(picture).to_be_visible()
            assert "key" not in picture.get_attribute("alt").lower()
            chosen = step.get_by_text("Named correctly", exact=True)
            chosen.click()
            # The chosen answer reads as chosen, not washed-out: text on fill 4.5:1 or more.
            colours = chosen.evaluate(
                "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
            assert contrast(*colours) >= 4.5, colours
        else:
            # Counting back from 100 goes wrong: 9 of 10.
            step.get_by_text("Wrong" if number == 10 else "Right", exact=True).click()
        page.get_by_role("button", name="Finish the check" if number == 10 else "Next").click()
    page.get_by_role("button", name="Send check").click()

    advice = page.locator('[data-severity="red"]')
    expect(advice).to_contain_text("Call your 24-hour hospital line now")
    expect(advice).to_contain_text("Your thinking check score (9 of 10) is lower than usual")
    phone = patient.care_team.line_phone
    call = advice.get_by_role("link", name=phone)
    expect(call).to_be_visible()
    assert call.get_attribute("href") == "tel:" + phone.replace(" ", "")
    box = call.bounding_box()
    assert box["height"] >= 44
    assert box["x"] + box["width"] <= 360
    check_in = CheckIn.objects.get()
    assert (check_in.ice_score, check_in.neuro_tool, check_in.severity) == (9, "ice", "red")
    assert check_in.neuro_items["answers"]["counting"] is False
    context.close()


def test_cannot_be_woken_is_one_tap_to_call_999(live_server, browser, caregiver, child):
    on_infusion(child)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, caregiver.email)
    page.get_by_role("link", name="I'm worried about how they are thinking or behaving").click()
    page.get_by_role("button", name=f"{child.display_name} cannot be woken or does not "
                                    "respond").click()
    advice = page.locator('[data-severity="red"]')
    emergency = child.care_team.emergency_number
    expect(advice.get_by_role("link", name=emergency).first).to_be_visible()
    assert CheckIn.objects.get().emergency
    context.close()


def test_a_half_done_ice_check_keeps_a_red_fever(live_server, browser, patient):
    # The tester's steps: two ICE tasks "Wrong", stop, type 38.6 °C, Send.
    on_infusion(patient)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in(page, live_server.url, patient.user.email)
    page.get_by_role("link", name="Record today's check-in").click()
    expect(page.get_by_role("heading", name="Thinking check")).to_be_visible()
    for _ in range(2):
        visible_steps(page).get_by_text("Wrong", exact=True).click()
        page.get_by_role("button", name="Next").click()
    page.locator("#id_temperature").fill("38.6")
    page.get_by_role("button", name="Send check-in").click()

    advice = page.locator('[data-severity="red"]')
    expect(advice).to_contain_text("Call your 24-hour hospital line now")
    expect(page.locator("body")).to_contain_text(
        "Thinking check not finished: 2 of 10 tasks answered and sent, score at most 8 of 10")
    check_in = CheckIn.objects.get()
    assert check_in.ice_score == 8
    assert check_in.neuro_items["incomplete"] is True
    assert {"temperature_high", "neuro_ice"} <= {f["rule"] for f in check_in.findings}
    assert check_in.alerts.exists()
    context.close()
