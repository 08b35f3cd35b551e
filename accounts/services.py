"""Writes on people, teams and links. Views call these; they hold no request state."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    STAFF_ROLES,
    CaregiverLink,
    CareTeam,
    ClosureRequest,
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


class InvitationNotYours(InvitationError):
    """A signed-in account tried to accept an invitation sent to another email. The message
    names nothing: not the email, the team or the patient."""


# Only ever shown to whoever holds the invitation's token (so has the email's mailbox).
ALREADY_REGISTERED = ("This email address already has a Homeline account. Sign in with it, "
                      "then accept the invitation.")
NOT_YOURS = ("This invitation cannot be accepted with the account you are signed in with. "
             "Sign out, then open the link in the email again.")


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
    """Create an invitation and return it with its raw token (only ever shown in the email).

    The same for an email that has an account anywhere and one that has none (see
    invitation_accept_existing). Raises InvitationError for a patient of another team, a
    patient who already has a login, or an unknown role."""
    email = email.strip().lower()
    now = now or timezone.now()
    # No "already has an account" here: the answer must be the same whatever the email, or
    # inviting would tell a nurse of any team that a person has an account (and so the
    # diagnosis). An existing account is linked when its owner accepts while signed in.
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
    """Create the account and its access from the invitation, once.

    Raises InvitationError when the token is not usable, or ALREADY_REGISTERED when the
    email has an account (its owner accepts with invitation_accept_existing)."""
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
            raise InvitationError(ALREADY_REGISTERED)
        try:
            user = User.objects.create_user(
                invitation.email,
                password,
                full_name=full_name.strip() or invitation.full_name,
                role=invitation.role,
            )
        except IntegrityError:
            raise InvitationError(ALREADY_REGISTERED) from None
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


def sessions_end(user: User) -> int:
    """Delete every stored session signed in as `user`; returns how many.

    Deactivation alone already signs a session out on its next request (Django's
    ModelBackend refuses an inactive user); deleting the rows also drops what those
    sessions hold (an invitation token, a half-finished step up). Only the database
    session engine can be searched by user; with another engine this returns 0 and
    relies on the inactive flag.
    """
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return 0
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    ended = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get(SESSION_KEY)) == str(user.pk):
            ended.append(session.pk)
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def person_end_in_team(
    *, person: User, team: CareTeam, by: User, now: datetime | None = None
) -> bool:
    """End `person`'s place in this one team, and their account only if nothing else remains.

    In `team`: the staff membership is removed, active caregiver links to the team's
    patients are revoked (at `now`), and a patient's own login (a patient account
    belongs to one record, so its place is its whole use) is ended. Places in other teams
    are never touched. If afterwards the account has no membership, no active caregiver
    link and no patient record left in use, it is deactivated, its open closure requests
    are marked handled by `by`, and its stored sessions are deleted.

    Returns True when the account was deactivated. Every change is in the models'
    history (simple_history), with `by` as the history user when called from a request.
    """
    now = now or timezone.now()
    with transaction.atomic():
        person = User.objects.select_for_update().get(pk=person.pk)
        for membership in Membership.objects.filter(user=person, team=team):
            membership._change_reason = f"place in {team.name} ended by {by.email}"
            membership.delete()
        for link in (CaregiverLink.objects.select_for_update().active(now)
                     .filter(caregiver=person, patient__care_team=team)):
            link.revoked_at = now
            link._change_reason = f"place in {team.name} ended by {by.email}"
            link.save(update_fields=["revoked_at"])
        ends_patient_login = Patient.objects.filter(user=person, care_team=team).exists()
        remains = not ends_patient_login and (
            Membership.objects.filter(user=person).exists()
            or CaregiverLink.objects.active(now).filter(caregiver=person).exists()
            or Patient.objects.filter(user=person).exists()
        )
        if remains:
            return False
        person.is_active = False
        person._change_reason = f"deactivated by {by.email}: no place left"
        person.save(update_fields=["is_active"])
        for closure in person.closure_requests.filter(handled_at__isnull=True):
            closure.handled_at = now
            closure.handled_by = by
            closure.save(update_fields=["handled_at", "handled_by"])
        # In the same transaction: if anything above fails, the sessions stay as they were.
        sessions_end(person)
    return True


def invitation_accept_existing(*, token: str, user: User, now: datetime | None = None):
    """The owner of an existing account accepts an invitation sent to its email, once.

    This is how a caregiver is linked to a second child, a nurse joins a second team, or a
    patient's existing account is given their record. Returns the CaregiverLink,
    Membership or Patient that gives the access. Raises InvitationNotYours (message naming
    nothing) when `user`'s email is not the invitation's, and InvitationError when the
    token is not usable or the account's role cannot take this invitation (shown to the
    account's owner only). Every row written is in its model's history.
    """
    now = now or timezone.now()
    with transaction.atomic():
        invitation = invitation_for_token(token, now)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at is not None:
            raise InvitationError("This invitation has already been used.")
        if not user.is_active or user.email.lower() != invitation.email.lower():
            raise InvitationNotYours(NOT_YOURS)
        if user.role != invitation.role:
            raise InvitationError(
                f"This invitation is for a {invitation.get_role_display().lower()}, and your "
                f"account is a {user.get_role_display().lower()}'s. Ask the care team to "
                "invite another email address."
            )
        reason = f"invitation {invitation.pk} accepted by its owner"
        if invitation.role == Role.PATIENT:
            patient = Patient.objects.select_for_update().get(pk=invitation.patient_id)
            if patient.user_id is not None or Patient.objects.filter(user=user).exists():
                raise InvitationError("Your account already has a patient record, or this "
                                      "patient already has a login. Ask the care team.")
            patient.user = user
            patient._change_reason = reason
            patient.save(update_fields=["user"])
            granted = patient
        elif invitation.role == Role.CAREGIVER:
            granted = _caregiver_link_for_invitation(invitation, user, now, reason)
        else:
            granted, _ = Membership.objects.get_or_create(
                user=user, team=invitation.care_team)
        invitation.accepted_at = now
        invitation.accepted_user = user
        invitation._change_reason = reason
        invitation.save(update_fields=["accepted_at", "accepted_user"])
    log.info("invitation %s accepted by existing user %s", invitation.pk, user.pk)
    return granted


def _caregiver_link_for_invitation(invitation: Invitation, user: User, now: datetime,
                                   reason: str) -> CaregiverLink:
    """An active link from the invitation. An already active link is kept as it is; an
    unrevoked link that has ended is revoked first (one unrevoked link per pair)."""
    current = (CaregiverLink.objects.select_for_update()
               .filter(caregiver=user, patient_id=invitation.patient_id,
                       revoked_at__isnull=True).first())
    if current is not None and current.is_active(now):
        return current
    if current is not None:
        current.revoked_at = now
        current._change_reason = reason
        current.save(update_fields=["revoked_at"])
    link = CaregiverLink(
        caregiver=user, patient_id=invitation.patient_id,
        relationship=invitation.relationship, may_log=invitation.may_log,
        created_by=invitation.created_by,
    )
    link._change_reason = reason
    link.save()
    return link


def patient_create(*, team: CareTeam, values: dict[str, object]) -> Patient:
    """A new patient record in `team` from validated form values (display_name,
    date_of_birth, hospital_number, time_zone; the caller has checked them, e.g.
    accounts.forms.PatientForm). A new patient has no treatment plan until staff set it
    (treatment.services.plan_save). Raises IntegrityError if the
    hospital number was taken meanwhile (the database's unique constraint decides)."""
    with transaction.atomic():
        return Patient.objects.create(care_team=team, **values)


class MembershipRemoveRefused(Exception):
    """A team admin may not remove their own membership: another admin must."""


def membership_remove(*, membership: Membership, by: User) -> None:
    """End `membership` (recorded in the membership history). Raises
    MembershipRemoveRefused when `by` is the member (a team must not lose its last admin
    by accident); the caller has checked that `by` manages the team."""
    if membership.user_id == by.pk:
        raise MembershipRemoveRefused("You cannot remove yourself; ask another team admin.")
    with transaction.atomic():
        membership.delete()


def account_close(*, user: User, reason: str) -> ClosureRequest:
    """A patient's or caregiver's request to close their account, for their care team to
    act on. Idempotent: while a request is pending, that one is returned and nothing is
    added. `reason` is free text of at most 1000 characters (checked by the form)."""
    with transaction.atomic():
        pending = (ClosureRequest.objects.select_for_update()
                   .filter(user=user, handled_at__isnull=True).first())
        if pending is not None:
            return pending
        return ClosureRequest.objects.create(user=user, reason=reason)


class TeamSettingsChangedMeanwhile(Exception):
    """The team's settings changed after the settings page being saved was shown (another
    admin's tab): nothing was written. `changed` lists (label, value then, value now) for
    each setting that differs; `current` is the settings as strings now."""

    def __init__(self, *, changed: list[tuple[str, str, str]], current: dict[str, str]) -> None:
        self.changed = changed
        self.current = current
        super().__init__("the team's settings changed since the page was shown")


_TEAM_SEEN_SALT = "accounts.team_settings.seen"


def team_settings_snapshot(team: CareTeam, fields: list[str]) -> dict[str, str]:
    """The named settings of `team` as strings (the model fields' own serialisation: a
    time as HH:MM:SS, a number as digits, an empty contact as "")."""
    return {name: CareTeam._meta.get_field(name).value_to_string(team) for name in fields}


def team_settings_seen_token(team: CareTeam, fields: list[str]) -> str:
    """A signed token of the named settings as `team` holds them now, for the settings form
    to carry back to team_settings_save."""
    return signing.dumps(team_settings_snapshot(team, fields), salt=_TEAM_SEEN_SALT,
                         compress=True)


def team_settings_save(*, team: CareTeam, values: dict[str, object], seen: str | None
                       ) -> CareTeam:
    """Write the team's settings `values` (field name -> cleaned value, validated by the
    settings form) and return the saved team.

    `seen` is the token the page carried (team_settings_seen_token); None: not checked.
    The form holds every setting, so saving an out-of-date page would silently put back
    an old 24-hour number or contact: if any of these settings differs from what the page
    showed (or the token does not verify), TeamSettingsChangedMeanwhile is raised and
    nothing is written. Checked under the team row lock, so of two saves of one page only
    the first passes. simple-history records who and what; open alerts' due times follow
    new minutes (post_save).
    """
    fields = list(values)
    with transaction.atomic():
        locked = CareTeam.objects.select_for_update().get(pk=team.pk)
        if seen is not None:
            current = team_settings_snapshot(locked, fields)
            try:
                shown = signing.loads(seen, salt=_TEAM_SEEN_SALT)
            except signing.BadSignature:
                shown = None
            if not isinstance(shown, dict) or {k: shown.get(k) for k in fields} != current:
                shown = shown if isinstance(shown, dict) else {}
                changed = [
                    (str(CareTeam._meta.get_field(name).verbose_name), str(shown.get(name, "?")),
                     current[name])
                    for name in fields if shown.get(name) != current[name]
                ]
                raise TeamSettingsChangedMeanwhile(changed=changed, current=current)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save()
        return locked
