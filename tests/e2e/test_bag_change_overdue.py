"""A bag change is overdue: the sweep raises it, the nurse's queue shows since when, the
trained caregiver on a phone is told to call and taps "Bag changed" (issue 13, "Done when":
"a bag change is overdue and the nurse's queue shows it")."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from alerts.bag_sweeps import bag_change_overdue_sweep
from alerts.models import BagChangeOverdue
from tests.e2e.conftest import PHONE
from tests.e2e.test_queue import sign_in
from tests.treatment.test_bag_changes import plan_for
from treatment.models import BagChange, ChangedBy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_overdue_bag_change_reaches_the_queue_and_the_caregiver_records_it(
    live_server, browser, nurse, caregiver, child, team
):
    base = live_server.url
    now = timezone.now()
    nurse_tz = ZoneInfo(nurse.time_zone)
    # Day 6 of an infusion of 48-hour bags; the last bag was hung 51.5 hours ago, so the
    # change was due 3.5 hours ago: red.
    plan_for(child, start=child.local_today(now) - timedelta(days=5), bag_hours=48,
             usual=time(9), changed_by=ChangedBy.TRAINED_CAREGIVER)
    BagChange.objects.create(patient=child, changed_at=now - timedelta(hours=51, minutes=30),
                             recorded_by=nurse)
    due = now - timedelta(hours=3, minutes=30)
    assert bag_change_overdue_sweep(now=now) == 1

    nurse_page = browser.new_context(**PHONE).new_page()
    sign_in(nurse_page, base, nurse.email,
            TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True))
    nurse_page.goto(f"{base}/alerts/")
    row = nurse_page.locator('[data-severity="red"]', has_text=child.display_name)
    # The queue speaks the nurse's own time zone.
    expect(row).to_contain_text(f"Bag change overdue since {due.astimezone(nurse_tz):%H:%M}")

    family = browser.new_context(**PHONE).new_page()
    sign_in(family, base, caregiver.email)
    notice = family.locator('[data-bag-overdue="red"]')
    expect(notice).to_contain_text(
        f"The bag change due at {due.astimezone(child.tz):%H:%M} has not been recorded.")
    call = notice.get_by_role("link", name=f"Call {team.line_phone}")
    expect(call).to_have_attribute("href", f"tel:{team.line_phone.replace(' ', '')}")
    call_box = call.bounding_box()
    assert call_box is not None
    assert call_box["height"] >= 44
    notice.get_by_role("link", name="Bag changed").click()

    button = family.get_by_role("button", name="Bag changed now")
    box = button.bounding_box()
    assert box is not None
    assert box["height"] >= 44
    assert box["width"] >= 300  # the whole width of a 360 px phone, less the margins
    button.click()
    expect(family.get_by_text("Bag change recorded at")).to_be_visible()
    expect(family.locator('[data-bag-overdue]')).to_have_count(0)

    assert BagChange.objects.filter(patient=child, recorded_by=caregiver).count() == 1
    overdue = BagChangeOverdue.objects.get(patient=child)
    assert overdue.done_at is not None
    assert overdue.bag_change.recorded_by == caregiver
    # The alert stays for the nurse, and now says who recorded the change.
    nurse_page.reload()
    recorded = f"{overdue.bag_change.changed_at.astimezone(nurse_tz):%H:%M}"
    expect(row).to_contain_text(f"bag change recorded at {recorded} by {caregiver.full_name}")
