"""The demo (`make run` seeds it): patients visibly on a bag schedule, nothing overdue."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.utils import timezone

from accounts.models import Patient
from alerts.bag_sweeps import bag_change_overdue_sweep
from alerts.models import Alert
from treatment.bag_changes import bag_changes_due


def test_the_demo_opens_on_a_bag_schedule_with_no_overdue_alert(db):
    call_command("seed_demo", stdout=io.StringIO())
    now = timezone.now()
    patients = list(Patient.objects.all())
    due = bag_changes_due(patients, now)
    assert len(due) == 2  # both demo patients have a next bag change...
    assert all(at > now for at in due.values())  # ...still to come
    assert bag_change_overdue_sweep(now=now) == 0
    assert not Alert.objects.exists()
