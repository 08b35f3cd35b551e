"""The delivery rows an alert's steps and missed-day reminders need (the outbox sends them).

Rows are created inside the caller's transaction (the check-in's, the sweep's) with a key
that makes the same step to the same address one row however often it is asked for.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from accounts.models import Patient, User
from alerts.models import Alert
from alerts.undeliverable import undeliverable_step
from notifications.models import Channel, Delivery, Purpose, RecipientRole
from notifications.outbox import delivery_create, team_contacts


def deliveries_for_alert(
    *, alert: Alert, purpose: str, step: str, roles: list[str], now: datetime
) -> list[int]:
    """The rows for one step of an alert to these team roles; ids of the new ones.

    Each role gets email, and SMS too for the severities that page by SMS. A role with no
    contact at all is a failure, not a message to nobody: a row on channel "none", failed at
    once (alerts.undeliverable), which the queue, /healthz and team settings show.
    """
    team = alert.patient.care_team
    created: list[Delivery | None] = []
    for role in roles:
        email, phone = team_contacts(team, role)
        targets = []
        if email:
            targets.append((Channel.EMAIL, email))
        if phone and alert.severity in settings.ALERT_SMS_SEVERITIES:
            targets.append((Channel.SMS, phone))
        if not targets:
            created.append(undeliverable_step(alert=alert, purpose=purpose, step=step,
                                              role=role, now=now))
            continue
        for channel, address in targets:
            created.append(delivery_create(
                key=f"alert:{alert.pk}:{purpose}:{step}:{channel}:{address or role}",
                now=now, alert=alert, patient=alert.patient, purpose=purpose, step=step,
                role=role if channel != Channel.QUEUE else RecipientRole.NURSES,
                channel=channel, address=address, severity=alert.severity,
            ))
    return [row.pk for row in created if row is not None]


def deliveries_for_reminder(
    *, patient: Patient, day: str, recipients: list[tuple[str, User]], now: datetime
) -> list[int]:
    """Reminder rows for a missed check-in: email to each recipient (patient, caregivers)."""
    ids = []
    for role, user in recipients:
        row = delivery_create(
            key=f"reminder:{patient.pk}:{day}:email:{user.email.lower()}", now=now,
            patient=patient, purpose=Purpose.REMINDER, step=f"reminder {day}", role=role,
            channel=Channel.EMAIL, address=user.email.lower(), user=user,
        )
        if row is not None:
            ids.append(row.pk)
    return ids


def deliveries_for_reminders(
    *, reminders: list[tuple[Patient, str, list[tuple[str, User]]]], now: datetime
) -> list[int]:
    """deliveries_for_reminder for many patients at once, in a constant number of queries
    (one insert, one read back): `reminders` is [(patient, day ISO, [(role, user)])]. Returns
    the ids of the rows that are new (an existing key is left as it is)."""
    rows = {}
    for patient, day, recipients in reminders:
        for role, user in recipients:
            address = user.email.lower()
            key = f"reminder:{patient.pk}:{day}:email:{address}"
            rows[key] = Delivery(
                key=key, patient=patient, purpose=Purpose.REMINDER, step=f"reminder {day}",
                role=role, channel=Channel.EMAIL, address=address, user=user,
                next_attempt_at=now, created_at=now,
            )
    if not rows:
        return []
    Delivery.objects.bulk_create(rows.values(), ignore_conflicts=True, batch_size=1000)
    # Made by this call: its keys with this creation time (a row made earlier has another).
    return list(Delivery.objects.filter(key__in=list(rows), created_at=now)
                .values_list("pk", flat=True))
