from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Role, User
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a long new pass phrase 42"


def make_invitation(nurse, child, email="dad@example.org", **kwargs):
    return services.invitation_create(
        created_by=nurse, care_team=child.care_team, patient=child, email=email,
        full_name="Dan Jones", role=kwargs.pop("role", Role.CAREGIVER),
        relationship="father", **kwargs,
    )


def accept(client, token, password=NEW_PASSWORD):
    return client.post(
        reverse("invitation_accept", args=[token]),
        {"full_name": "Dan Jones", "password1": password, "password2": password},
    )


def test_nurse_invites_a_caregiver_by_email(as_user, nurse, child):
    response = as_user(nurse).post(
        reverse("invitation_create", args=[child.pk]),
        {"role": "caregiver", "full_name": "Dan Jones", "email": "Dan@Example.org",
         "relationship": "father", "may_log": "on"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.email == "dan@example.org"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dan@example.org"]
    # The raw token travels only in the email; the database keeps its hash.
    link = next(line for line in mail.outbox[0].body.splitlines() if "/invitation/" in line)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in invitation.token_hash
    assert invitation.token_hash == services.hash_token(token)


def test_accepting_creates_the_account_and_the_link_and_signs_in(client, nurse, child):
    _, token = make_invitation(nurse, child)
    response = accept(client, token)
    assert response.status_code == 302
    user = User.objects.get(email="dad@example.org")
    assert user.role == Role.CAREGIVER
    link = user.caregiver_links.get()
    assert link.patient == child
    assert link.relationship == "father"
    home = client.get(reverse("home"))
    assert child.display_name in home.content.decode()


def test_invitation_is_single_use(client, nurse, child):
    _, token = make_invitation(nurse, child)
    accept(client, token)
    client.logout()
    again = accept(client, token, password="another long pass 77")
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert User.objects.filter(email="dad@example.org").count() == 1


def test_expired_invitation_is_refused(client, nurse, child):
    _, token = make_invitation(nurse, child)
    with time_machine.travel(timezone.now() + timedelta(hours=72, seconds=1)):
        response = client.get(reverse("invitation_accept", args=[token]))
        assert response.status_code == 410
        assert "expired" in response.content.decode()
        assert accept(client, token).status_code == 410
    assert not User.objects.filter(email="dad@example.org").exists()


def test_invitation_still_works_just_before_expiry(client, nurse, child):
    _, token = make_invitation(nurse, child)
    with time_machine.travel(timezone.now() + timedelta(hours=71, minutes=59)):
        assert accept(client, token).status_code == 302


def test_wrong_token_is_refused(client, nurse, child):
    make_invitation(nurse, child)
    response = client.get(reverse("invitation_accept", args=["not-the-token"]))
    assert response.status_code == 410
    assert "not valid" in response.content.decode()


def test_already_registered_email_cannot_be_invited(nurse, child, patient):
    with pytest.raises(services.InvitationError, match="already has an account"):
        make_invitation(nurse, child, email="SAM@example.org")


def test_invitation_form_names_the_field_for_a_registered_email(as_user, nurse, child, patient):
    response = as_user(nurse).post(
        reverse("invitation_create", args=[child.pk]),
        {"role": "caregiver", "full_name": "X", "email": "sam@example.org",
         "relationship": "uncle"},
    )
    assert response.status_code == 200
    assert "already has an account" in response.context["form"].errors["email"][0]
    assert not Invitation.objects.exists()


def test_email_registered_after_the_invitation_is_refused_at_acceptance(client, nurse, child):
    _, token = make_invitation(nurse, child)
    User.objects.create_user("dad@example.org", PASSWORD, full_name="Dan", role=Role.CAREGIVER)
    response = accept(client, token)
    assert response.status_code == 410
    assert "already has an account" in response.content.decode()


def test_weak_or_mismatched_password_keeps_the_invitation(client, nurse, child):
    _, token = make_invitation(nurse, child)
    response = client.post(
        reverse("invitation_accept", args=[token]),
        {"full_name": "Dan", "password1": "short", "password2": "short"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    mismatch = client.post(
        reverse("invitation_accept", args=[token]),
        {"full_name": "Dan", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"},
    )
    assert mismatch.context["form"].errors["password2"]
    assert Invitation.objects.get().accepted_at is None
    assert accept(client, token).status_code == 302


def test_patient_invitation_gives_the_patient_their_own_login(client, nurse, child):
    _, token = make_invitation(nurse, child, email="maya@example.org", role=Role.PATIENT)
    accept(client, token)
    child.refresh_from_db()
    assert child.user.email == "maya@example.org"


def test_caregiver_cannot_invite(as_user, caregiver, child):
    response = as_user(caregiver).post(
        reverse("invitation_create", args=[child.pk]),
        {"role": "caregiver", "full_name": "X", "email": "x@example.org", "relationship": "aunt"},
    )
    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_team_admin_invites_a_nurse_into_the_team(as_user, team_admin, team, client):
    response = as_user(team_admin).post(
        reverse("staff_invitation_create", args=[team.pk]),
        {"role": "nurse", "full_name": "New Nurse", "email": "new.nurse@example.org"},
    )
    assert response.status_code == 302
    token = mail.outbox[0].body.split("/invitation/")[1].split("/")[0]
    accept(client, token)
    user = User.objects.get(email="new.nurse@example.org")
    assert user.role == Role.NURSE
    assert list(user.memberships.values_list("team", flat=True)) == [team.pk]


def test_nurse_cannot_invite_staff(as_user, nurse, team):
    response = as_user(nurse).get(reverse("staff_invitation_create", args=[team.pk]))
    assert response.status_code == 404
