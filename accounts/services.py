"""Writes on people, teams and links. Views call these; they hold no request state."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    STAFF_ROLES,
    CaregiverLink,
    CareTeam,
    Invitation,
    Membership,
    Patient,
    Role,
    User,
    hash_token,
)

log = logging.getLogger(__name__)


class InvitationError(Exception):
    """The invitation cannot be created or used; the message is for the person."""


def invitation_url(token: str) -> str:
    return settings.SITE_URL + reverse("invitation_accept", args=[token])


def invitation_create(
    *,
    created_by: User,
    care_team: CareTeam,
    email: str,
    full_name: str,
    role: str,
    patient: Patient | None = None,
    relationship: str = "",
    may_log: bool = True,
    now: datetime | None = None,
) -> tuple[Invitation, str]:
    """Create an invitation and return it with its raw token (only ever shown in the email)."""
    email = email.strip().lower()
    now = now or timezone.now()
    if User.objects.filter(email__iexact=email).exists():
        raise InvitationError(f"{email} already has an account.")
    if role in (Role.PATIENT, Role.CAREGIVER):
        if patient is None or patient.care_team_id != care_team.pk:
            raise InvitationError("Choose a patient of this care team.")
        if role == Role.PATIENT and patient.user_id is not None:
            raise InvitationError(f"{patient.display_name} already has a login.")
    elif role not in STAFF_ROLES:
        raise InvitationError("Unknown role.")
    token = Invitation.new_token()
    invitation = Invitation.objects.create(
        email=email,
        full_name=full_name.strip(),
        role=role,
        care_team=care_team,
        patient=patient if role in (Role.PATIENT, Role.CAREGIVER) else None,
        relationship=relationship.strip() if role == Role.CAREGIVER else "",
        may_log=may_log,
        token_hash=hash_token(token),
        created_by=created_by,
        expires_at=now + timedelta(hours=settings.INVITATION_TTL_HOURS),
    )
    return invitation, token


def invitation_send(*, invitation: Invitation, token: str) -> bool:
    """Email the link. Returns False (and logs) if the mail server refused it."""
    context = {
        "invitation": invitation,
        "url": invitation_url(token),
        "hours": settings.INVITATION_TTL_HOURS,
    }
    try:
        send_mail(
            subject=f"Your Homeline invitation from {invitation.care_team.name}",
            message=render_to_string("emails/invitation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[invitation.email],
            html_message=render_to_string("emails/invitation.html", context),
        )
    except OSError:
        log.exception("invitation %s: email could not be sent", invitation.pk)
        return False
    return True


def invitation_for_token(token: str, now: datetime | None = None) -> Invitation:
    invitation = (
        Invitation.objects.select_related("care_team", "patient")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise InvitationError(
            "This invitation link is not valid. Ask your care team for a new one."
        )
    if invitation.accepted_at is not None:
        raise InvitationError("This invitation has already been used. Sign in instead.")
    if not invitation.is_usable(now):
        raise InvitationError("This invitation has expired. Ask your care team for a new one.")
    return invitation


def invitation_accept(
    *, token: str, full_name: str, password: str, now: datetime | None = None
) -> User:
    """Create the account and its access from the invitation, once."""
    now = now or timezone.now()
    with transaction.atomic():
        invitation = invitation_for_token(token, now)
        # Claim the invitation under a row lock, so two submits of the same link (double
        # tap, two tabs) cannot both create an account; save() (not update()) so the
        # change is in the invitation's history.
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise InvitationError("This invitation has already been used. Sign in instead.")
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise InvitationError(f"{invitation.email} already has an account. Sign in instead.")
        try:
            user = User.objects.create_user(
                invitation.email,
                password,
                full_name=full_name.strip() or invitation.full_name,
                role=invitation.role,
            )
        except IntegrityError:
            raise InvitationError(
                f"{invitation.email} already has an account. Sign in instead."
            ) from None
        if invitation.role == Role.PATIENT:
            patient = Patient.objects.select_for_update().get(pk=invitation.patient_id)
            if patient.user_id is not None:
                raise InvitationError("This patient already has a login.")
            patient.user = user
            patient.save(update_fields=["user"])
        elif invitation.role == Role.CAREGIVER:
            CaregiverLink.objects.create(
                caregiver=user,
                patient=invitation.patient,
                relationship=invitation.relationship,
                may_log=invitation.may_log,
                created_by=invitation.created_by,
            )
        else:
            Membership.objects.create(user=user, team=invitation.care_team)
        invitation.accepted_at = now
        invitation.accepted_user = user
        invitation.save(update_fields=["accepted_at", "accepted_user"])
    return user


def caregiver_link_revoke(*, link: CaregiverLink, now: datetime | None = None) -> None:
    """End a caregiver's access at once (recorded in the link's history)."""
    with transaction.atomic():
        current = CaregiverLink.objects.select_for_update().get(pk=link.pk)
        if current.revoked_at is None:
            current.revoked_at = now or timezone.now()
            current.save(update_fields=["revoked_at"])
            link.revoked_at = current.revoked_at
