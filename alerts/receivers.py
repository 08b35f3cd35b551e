"""The alerts app listening to the check-in service (symptoms.signals) and to bag changes
(treatment.bag_changes)."""

from __future__ import annotations

from django.dispatch import receiver

from alerts.models import BagChangeOverdue
from alerts.services import alert_for_check_in
from symptoms.models import CheckIn
from symptoms.signals import check_in_saved
from treatment.bag_changes import bag_change_cancelled, bag_change_recorded
from treatment.models import BagChange


@receiver(check_in_saved, sender=CheckIn, dispatch_uid="alerts.check_in_saved")
def _check_in_saved(sender: type[CheckIn], check_in: CheckIn, **kwargs: object) -> None:
    # Same transaction as the check-in: the alert and its delivery rows exist exactly when
    # the check-in does.
    alert_for_check_in(check_in=check_in)


@receiver(bag_change_recorded, sender=BagChange, dispatch_uid="alerts.bag_change_recorded")
def _bag_change_recorded(sender: type[BagChange], bag_change: BagChange,
                         **kwargs: object) -> None:
    # Same transaction as the record (under the patient's lock): the overdue finding is done,
    # no further rises. The alert stays open for a nurse; its page says who recorded what.
    BagChangeOverdue.objects.filter(patient_id=bag_change.patient_id,
                                    done_at__isnull=True).update(
        done_at=bag_change.recorded_at, bag_change=bag_change)


@receiver(bag_change_cancelled, sender=BagChange, dispatch_uid="alerts.bag_change_cancelled")
def _bag_change_cancelled(sender: type[BagChange], bag_change: BagChange,
                          **kwargs: object) -> None:
    # A wrong record no longer counts: the finding it closed is watched again (a level
    # already raised is not raised twice).
    BagChangeOverdue.objects.filter(bag_change=bag_change).update(done_at=None, bag_change=None)
