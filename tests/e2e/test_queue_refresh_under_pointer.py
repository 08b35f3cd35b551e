"""The queue's 10 s refresh never moves rows under the nurse's pointer or focus (a row
resolved elsewhere would put the next patient's Acknowledge button under the click), and
every confirmation names the patient it acted on, with a link back to the alert."""

from __future__ import annotations

import time

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from alerts.models import Alert, AlertState
from alerts.services import alert_resolve
from tests.alerts.conftest import record
from tests.e2e.test_queue import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def polls_pass(page, seconds: float) -> None:
    """Let several refresh ticks go by (the refresh is set to 1 s in these tests)."""
    page.wait_for_timeout(seconds * 1000)


def test_a_refresh_does_not_move_rows_under_the_pointer_or_focus(
    live_server, browser, settings, nurse, patient, patient_user, child, caregiver
):
    settings.QUEUE_REFRESH_SECONDS = 1
    record(patient, patient_user, symptoms={"headache": 2})   # older: first in the queue
    time.sleep(0.01)
    record(child, caregiver, symptoms={"headache": 2})
    first = Alert.objects.get(patient=patient)
    second = Alert.objects.get(patient=child)

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_server.url, nurse.email,
            TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True))
    page.goto(f"{live_server.url}/alerts/")
    rows = page.locator(".queue-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(patient.display_name)

    # Each button's accessible name says whose alert it is.
    ack_first = page.get_by_role(
        "button", name=f"Acknowledge alert for {patient.display_name}, {patient.hospital_number}")
    expect(ack_first).to_have_count(1)
    expect(page.get_by_role(
        "button", name=f"Acknowledge alert for {child.display_name}, {child.hospital_number}"
    )).to_have_count(1)

    # The pointer rests on the first patient's button; a colleague resolves that alert.
    ack_first.hover()
    alert_resolve(alert=first, user=nurse, outcome="advice_given", seen_version=first.version)
    polls_pass(page, 3.5)
    # Not swapped: the button under the pointer is still the first patient's; the header's
    # open counts did follow (one amber alert left).
    expect(page.locator("#alert-counts .sev-amber")).to_have_text("1")
    expect(rows).to_have_count(2)
    box = ack_first.bounding_box()
    under = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('li').dataset.alertId",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert under == str(first.pk)

    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # The click acted on the alert it showed (already resolved: refused), never the next.
    message = page.locator("main .alert").first
    expect(message).to_contain_text(patient.display_name)
    expect(message).to_contain_text(patient.hospital_number)
    expect(message.get_by_role("link", name="open the alert")).to_have_attribute(
        "href", f"/alerts/{first.pk}/")
    second.refresh_from_db()
    assert second.state == AlertState.OPEN

    # Focus inside the queue (keyboard), pointer away: still not swapped.
    page.goto(f"{live_server.url}/alerts/")
    expect(rows).to_have_count(1)
    ack_second = page.get_by_role("button", name=f"Acknowledge alert for {child.display_name}")
    page.mouse.move(5, 5)
    ack_second.focus()
    record(patient, patient_user, temperature_c=39.4)   # a new red alert, first in order
    polls_pass(page, 3.5)
    expect(rows).to_have_count(1)
    expect(page.locator("#alert-counts .sev-red")).to_have_text("1")  # the header shows it
    # Focus and pointer leave: the next tick brings the new row.
    page.locator("h1").click()
    expect(rows).to_have_count(2, timeout=5_000)
    expect(rows.first).to_contain_text(patient.display_name)

    # Acknowledging names the patient and links back to the alert.
    page.get_by_role("button", name=f"Acknowledge alert for {child.display_name}").click()
    done = page.locator("main .alert-success")
    expect(done).to_contain_text("Acknowledged: escalation has stopped for")
    expect(done).to_contain_text(f"{child.display_name} ({child.hospital_number})")
    expect(done.get_by_role("link", name="open the alert")).to_have_attribute(
        "href", f"/alerts/{second.pk}/")
    second.refresh_from_db()
    assert second.state == AlertState.ACKNOWLEDGED
