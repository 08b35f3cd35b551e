"""The alerts app listening to the check-in service (symptoms.signals)."""

from __future__ import annotations

from django.dispatch import receiver

from alerts.services import alert_for_check_in
from symptoms.models import CheckIn
from symptoms.signals import check_in_saved


@receiver(check_in_saved, sender=CheckIn, dispatch_uid="alerts.check_in_saved")
def _check_in_saved(sender: type[CheckIn], check_in: CheckIn, **kwargs: object) -> None:
    # Same transaction as the check-in: the alert and its delivery rows exist exactly when
    # the check-in does.
    alert_for_check_in(check_in=check_in)
