"""On a phone, the nurse's queue puts an emergency first, then the most worried family,
then the oldest, within one severity; a new worried family's alert arrives by the live
refresh in its place, and the row says so in words."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE
from tests.e2e.test_queue import sign_in
from tests.factories import PatientFactory
from tests.nursing.test_queue_order import check_in_alert

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def row_ids(page):
    return [int(i) for i in page.locator("[data-alert-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.alertId)")]


def test_the_queue_order_on_a_phone_and_after_a_refresh(live_server, browser, settings,
                                                        nurse, team):
    settings.QUEUE_REFRESH_SECONDS = 1
    old_red = check_in_alert(PatientFactory(care_team=team), severity="red",
                             minutes_ago=120, worry=0)
    emergency = check_in_alert(PatientFactory(care_team=team), severity="red",
                               minutes_ago=2, emergency=True)
    amber_worried = check_in_alert(PatientFactory(care_team=team), severity="amber",
                                   minutes_ago=1, worry=3)

    page = browser.new_context(**PHONE).new_page()
    sign_in(page, live_server.url, nurse.email,
            TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True))
    page.goto(f"{live_server.url}/alerts/")
    assert row_ids(page) == [emergency.pk, old_red.pk, amber_worried.pk]
    expect(page.locator(f'[data-alert-id="{emergency.pk}"]')).to_contain_text("emergency")
    worried_row = page.locator(f'[data-alert-id="{amber_worried.pk}"]')
    expect(worried_row.get_by_text("family very worried")).to_be_visible()

    # A red alert from a very worried family comes in: after the refresh it stands after
    # the emergency and before the older red whose family was not worried.
    new_worried = check_in_alert(PatientFactory(care_team=team), severity="red",
                                 minutes_ago=0, worry=3)
    expect(page.locator(f'[data-alert-id="{new_worried.pk}"]')).to_be_visible(timeout=8_000)
    assert row_ids(page) == [emergency.pk, new_worried.pk, old_red.pk, amber_worried.pk]
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
