"""A message re-checks its reason when it is sent (issue 10, kind 2): an escalation that
waited for a retry is not sent after the acknowledgement, a reminder not to a caregiver whose
link was revoked, nor for a day already checked in. A cancelled row says why.

Real SMTP on loopback (aiosmtpd); the last test runs through a real Celery worker.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertState
from alerts.reasons import delivery_reason_gone
from alerts.services import alert_acknowledge, alert_resolve
from alerts.sweeps import alerts_escalate
from notifications.dispatch import deliveries_enqueue
from notifications.models import Channel, Delivery, DeliveryState, Purpose, RecipientRole
from notifications.outbox import delivery_send
from tests.alerts.conftest import record
from tests.alerts.support import wait_until


@pytest.fixture
def red_alert(patient, patient_user):
    record(patient, patient_user, temperature_c=38.6)
    return Alert.objects.get()


def escalate_now(alert: Alert) -> list[Delivery]:
    """Make the alert 15 minutes old and take its first escalation step now (real time, so
    that the rows are due for a worker at once)."""
    now = timezone.now()
    Alert.objects.filter(pk=alert.pk).update(escalation_from=now - timedelta(minutes=16),
                                             escalation_due_at=now - timedelta(minutes=1))
    alerts_escalate(now=now)
    return list(Delivery.objects.filter(purpose=Purpose.ESCALATION, channel=Channel.EMAIL))


def waiting_for_retry(row: Delivery) -> None:
    Delivery.objects.filter(pk=row.pk).update(state=DeliveryState.RETRY, attempts=1,
                                              next_attempt_at=timezone.now())


def acknowledged_behind_the_services_back(alert: Alert, nurse) -> None:
    """The state a row meets when the acknowledgement came while it was in a worker's hands
    (the acknowledgement cancels only rows that are waiting)."""
    Alert.objects.filter(pk=alert.pk).update(state=AlertState.ACKNOWLEDGED,
                                             acknowledged_by=nurse,
                                             acknowledged_at=timezone.now(),
                                             escalation_due_at=None)


def test_an_escalation_row_waiting_for_a_retry_is_cancelled_not_sent_after_acknowledgement(
    smtp, red_alert, nurse
):
    rows = escalate_now(red_alert)
    assert len(rows) == 2
    for row in rows:
        waiting_for_retry(row)
    acknowledged_behind_the_services_back(red_alert, nurse)
    for row in rows:
        assert delivery_send(delivery_id=row.pk).state == DeliveryState.CANCELLED
        row.refresh_from_db()
        assert row.state == DeliveryState.CANCELLED
        assert row.cancel_reason.startswith("the alert was acknowledged by Nia Nurse at ")
        assert row.attempts == 1  # the cancelled claim is not counted as an attempt
        assert not row.tries.exists()
    assert smtp.mailbox.count() == 0


def test_the_notice_still_goes_when_the_alert_is_only_acknowledged(smtp, red_alert, nurse):
    notice = Delivery.objects.get(purpose=Purpose.NOTICE, channel=Channel.EMAIL)
    acknowledged_behind_the_services_back(red_alert, nurse)
    assert delivery_send(delivery_id=notice.pk).state == DeliveryState.SENT
    assert smtp.mailbox.count() == 1


def test_nothing_of_a_resolved_alert_is_sent(smtp, red_alert, nurse):
    notice = Delivery.objects.get(purpose=Purpose.NOTICE, channel=Channel.EMAIL)
    Delivery.objects.filter(pk=notice.pk).update(state=DeliveryState.IN_FLIGHT,
                                                 claimed_at=timezone.now())
    alert_resolve(alert=red_alert, user=nurse, outcome="advice_given",
                  seen_version=red_alert.version)
    # In a worker's hands at the time: left alone by the resolve, then put back for a retry.
    notice.refresh_from_db()
    assert notice.state == DeliveryState.IN_FLIGHT
    waiting_for_retry(notice)
    assert delivery_send(delivery_id=notice.pk).state == DeliveryState.CANCELLED
    notice.refresh_from_db()
    assert notice.cancel_reason.startswith("the alert was resolved by Nia Nurse")
    assert smtp.mailbox.count() == 0


def test_resolving_cancels_every_message_still_waiting(red_alert, nurse):
    escalate_now(red_alert)
    alert_resolve(alert=red_alert, user=nurse, outcome="admitted",
                  seen_version=Alert.objects.get().version)
    states = set(Delivery.objects.filter(alert=red_alert).values_list("state", flat=True))
    assert states == {DeliveryState.CANCELLED}


def test_a_fallback_follows_the_reason_of_the_message_it_stands_in_for(red_alert, nurse):
    [row, _] = escalate_now(red_alert)
    fallback = Delivery.objects.create(
        key=f"fallback:{row.pk}:sms:07700900123", alert=red_alert, patient=red_alert.patient,
        purpose=Purpose.FALLBACK, step=f"fallback for #{row.pk}", role=row.role,
        channel=Channel.SMS, address="07700900123", severity="red", fallback_for=row,
        next_attempt_at=timezone.now(), created_at=timezone.now())
    assert delivery_reason_gone(fallback) is None
    acknowledged_behind_the_services_back(red_alert, nurse)
    assert "acknowledged" in delivery_reason_gone(fallback)


def test_the_alert_page_lists_a_cancelled_message_with_why(smtp, red_alert, nurse, as_user):
    [row, _] = escalate_now(red_alert)
    waiting_for_retry(row)
    acknowledged_behind_the_services_back(red_alert, nurse)
    delivery_send(delivery_id=row.pk)
    html = as_user(nurse).get(f"/alerts/{red_alert.pk}/").content.decode()
    assert 'data-delivery-state="cancelled"' in html
    assert "not sent, the alert was acknowledged by Nia Nurse" in html


# Reminders --------------------------------------------------------------------------------

def reminder_row(patient, user, role, day) -> Delivery:
    now = timezone.now()
    return Delivery.objects.create(
        key=f"reminder:{patient.pk}:{day}:email:{user.email}", patient=patient,
        purpose=Purpose.REMINDER, step=f"reminder {day}", role=role, channel=Channel.EMAIL,
        address=user.email, user=user, state=DeliveryState.RETRY, attempts=1,
        next_attempt_at=now, created_at=now)


def today_of(patient) -> str:
    return patient.local_today().isoformat()


def test_a_reminder_waiting_for_a_retry_is_not_sent_after_the_caregivers_link_was_revoked(
    smtp, child, caregiver
):
    row = reminder_row(child, caregiver, RecipientRole.CAREGIVER,
                       (child.local_today() - timedelta(days=1)).isoformat())
    child.caregiver_links.update(revoked_at=timezone.now() - timedelta(seconds=1))
    assert delivery_send(delivery_id=row.pk).state == DeliveryState.CANCELLED
    row.refresh_from_db()
    assert row.cancel_reason == "the caregiver's link to the patient ended or was revoked"
    assert smtp.mailbox.count() == 0


def test_a_reminder_to_a_caregiver_who_may_no_longer_log_is_cancelled(smtp, child, caregiver):
    row = reminder_row(child, caregiver, RecipientRole.CAREGIVER, today_of(child))
    child.caregiver_links.update(may_log=False)
    assert delivery_send(delivery_id=row.pk).state == DeliveryState.CANCELLED


def test_a_reminder_for_a_day_already_checked_in_is_cancelled(smtp, patient, patient_user):
    row = reminder_row(patient, patient_user, RecipientRole.PATIENT, today_of(patient))
    record(patient, patient_user, temperature_c=36.8)
    assert delivery_send(delivery_id=row.pk).state == DeliveryState.CANCELLED
    row.refresh_from_db()
    assert row.cancel_reason.startswith("a check-in was recorded at ")
    assert smtp.mailbox.count() == 0


def test_a_reminder_to_an_account_that_was_deactivated_is_cancelled(smtp, patient,
                                                                    patient_user):
    row = reminder_row(patient, patient_user, RecipientRole.PATIENT, today_of(patient))
    type(patient_user).objects.filter(pk=patient_user.pk).update(is_active=False)
    assert delivery_send(delivery_id=row.pk).state == DeliveryState.CANCELLED


def test_a_reminder_whose_reason_holds_is_sent(smtp, child, caregiver):
    row = reminder_row(child, caregiver, RecipientRole.CAREGIVER, today_of(child))
    assert delivery_send(delivery_id=row.pk).state == DeliveryState.SENT
    [mail] = smtp.mailbox.wait_for(1)
    assert mail.rcpt_tos == [caregiver.email]


# Through a real worker ---------------------------------------------------------------------

@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_no_escalated_email_arrives_after_the_acknowledgement(settings, smtp, worker, patient,
                                                              patient_user, nurse):
    settings.ALERT_MAX_ATTEMPTS = 50  # keep retrying for the whole test: no fallback
    # A back-off long enough that the rows are seen waiting for their retry, as in the
    # issue (an email mid-send when the nurse acknowledges cannot be called back).
    settings.ALERT_RETRY_BASE_SECONDS = settings.ALERT_RETRY_MAX_SECONDS = 6
    record(patient, patient_user, temperature_c=38.6)
    smtp.mailbox.wait_for(1)  # the notice to the nurse on duty
    alert = Alert.objects.get()
    smtp.mailbox.refuse = "451 4.3.0 Mailbox busy, try again later"
    rows = escalate_now(alert)
    wait_until(lambda: all(Delivery.objects.get(pk=r.pk).state == DeliveryState.RETRY
                           for r in rows),
               timeout=10, what="the escalation emails to be refused and wait for a retry")
    alert_acknowledge(alert=alert, user=nurse, seen_version=Alert.objects.get().version)
    smtp.mailbox.refuse = None
    wait_until(lambda: not Delivery.objects.filter(
        pk__in=[r.pk for r in rows],
        state__in=[DeliveryState.PENDING, DeliveryState.RETRY, DeliveryState.IN_FLIGHT],
    ).exists(), timeout=10, what="the escalation rows to settle")
    # Their retries, now rather than in seconds: the worker must find nothing to send.
    deliveries_enqueue([r.pk for r in rows])
    time.sleep(1.0)
    subjects = [m.message["Subject"] for m in smtp.mailbox.received]
    assert not [s for s in subjects if "ESCALATED" in s]
    for row in Delivery.objects.filter(pk__in=[r.pk for r in rows]):
        assert row.state == DeliveryState.CANCELLED
        assert "acknowledged by Nia Nurse" in row.cancel_reason
