"""Which check-ins a user may see: those of the patients accounts.access lets them see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from accounts.access import one_or_404, patients_for
from symptoms.models import CheckIn

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


def check_ins_for(user: User | AnonymousUser) -> QuerySet[CheckIn]:
    """Check-ins of the patients this user may see (none for anyone signed out)."""
    return CheckIn.objects.filter(patient__in=patients_for(user))


def check_in_for(user: User | AnonymousUser, check_in_id: object) -> CheckIn:
    """One check-in the user may see; Http404 for any other id, as for one that does not
    exist."""
    return one_or_404(
        check_ins_for(user).select_related("patient__care_team"), check_in_id, "check-in"
    )
