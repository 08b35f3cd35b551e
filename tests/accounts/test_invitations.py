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


CONTINUE = reverse("invitation_accept", args=["accept"])


def open_link(client, token):
    """What a browser does with the emailed link: the token goes into the session and the
    browser is sent on to the tokenless page."""
    response = client.get(reverse("invitation_accept", args=[token]))
    assert response.status_code == 302
    assert response["Location"] == CONTINUE
    return client.get(CONTINUE)


def accept(client, token, password=NEW_PASSWORD, full_name="Dan Jones"):
    open_link(client, token)
    return client.post(
        CONTINUE, {"full_name": full_name, "password1": password, "password2": password},
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
    again = open_link(client, token)
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert User.objects.filter(email="dad@example.org").count() == 1


def test_expired_invitation_is_refused(client, nurse, child):
    _, token = make_invitation(nurse, child)
    with time_machine.travel(timezone.now() + timedelta(hours=72, seconds=1)):
        response = open_link(client, token)
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
    response = open_link(client, "not-the-token")
    assert response.status_code == 410
    assert "not valid" in response.content.decode()


def test_email_registered_after_the_invitation_is_told_to_sign_in(client, nurse, child):
    _, token = make_invitation(nurse, child)
    User.objects.create_user("dad@example.org", PASSWORD, full_name="Dan", role=Role.CAREGIVER)
    response = accept(client, token)
    assert response.status_code == 410
    assert "already has a Homeline account" in response.content.decode()
    assert Invitation.objects.get().accepted_at is None


def test_weak_or_mismatched_password_keeps_the_invitation(client, nurse, child):
    _, token = make_invitation(nurse, child)
    open_link(client, token)
    response = client.post(
        CONTINUE, {"full_name": "Dan", "password1": "short", "password2": "short"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    mismatch = client.post(
        CONTINUE,
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


# --- One neutral answer whatever the email -----------------------------------------------

def _invite_answer(nurse, child, email):
    from tests.conftest import verified_client

    response = verified_client(nurse).post(
        reverse("invitation_create", args=[child.pk]),
        {"role": "caregiver", "full_name": "X Person", "email": email,
         "relationship": "uncle", "may_log": "on"},
    )
    shown = [str(m) for m in response.wsgi_request._messages]
    return response.status_code, response.get("Location"), [
        m.replace(email.lower(), "E") for m in shown]


def test_inviting_answers_the_same_whether_or_not_the_email_has_an_account(
        as_user, nurse, child, other_team_nurse, other_team):
    """sam@ is a patient of another team; nobody@ has no account. The nurse cannot tell."""
    from tests.factories import PatientFactory, UserFactory

    PatientFactory(care_team=other_team, user=UserFactory(role=Role.PATIENT,
                                                          email="sam.other@example.org"))
    registered = _invite_answer(nurse, child, "Sam.Other@example.org")
    unknown = _invite_answer(nurse, child, "nobody@example.org")
    staff_registered = _invite_answer(nurse, child, other_team_nurse.email)
    assert registered == unknown == staff_registered
    assert registered[0] == 302
    assert len(mail.outbox) == 3
    # Same email text, apart from the address.
    bodies = {m.body.split("/invitation/")[0] for m in mail.outbox}
    assert len(bodies) == 1


def test_team_admin_staff_invitation_is_neutral_too(as_user, team_admin, team,
                                                    other_team_nurse):
    client = as_user(team_admin)
    answers = []
    for email in (other_team_nurse.email, "brand.new@example.org"):
        response = client.post(reverse("staff_invitation_create", args=[team.pk]),
                               {"role": "nurse", "full_name": "N", "email": email})
        answers.append((response.status_code, response["Location"]))
    assert answers[0] == answers[1] == (302, reverse("staff_home"))


# --- The token leaves the URL after the first request -------------------------------------

def test_token_is_only_in_the_first_url(client, nurse, child):
    _, token = make_invitation(nurse, child)
    first = client.get(reverse("invitation_accept", args=[token]))
    assert first.status_code == 302
    assert token not in first["Location"]
    page = client.get(first["Location"])
    assert page.status_code == 200
    assert token not in page.content.decode()
    assert token not in page.wsgi_request.get_full_path()
    done = client.post(CONTINUE, {"full_name": "Dan Jones", "password1": NEW_PASSWORD,
                                  "password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert token not in done["Location"]
    # Used up: the session no longer holds it, and the page asks for the link again.
    assert client.get(CONTINUE).status_code == 410


def test_tokenless_page_without_a_session_token_is_refused(client):
    response = client.get(CONTINUE)
    assert response.status_code == 410
    assert "Open the link" in response.content.decode()


# --- An existing account is linked by its owner accepting ---------------------------------

@pytest.fixture
def second_child(team):
    from tests.factories import PatientFactory

    return PatientFactory(care_team=team, display_name="Leo Jones")


def test_caregiver_links_a_second_child_by_signing_in_and_accepting(
        client, nurse, caregiver, child, second_child):
    _, token = services.invitation_create(
        created_by=nurse, care_team=second_child.care_team, patient=second_child,
        email="ROSA@example.org", full_name="Rosa", role=Role.CAREGIVER,
        relationship="mother")
    page = open_link(client, token)
    assert "Sign in and accept" in page.content.decode()
    # Sign in from the invitation page: the session (and the token in it) survives.
    signed_in = client.post(f"{reverse('login')}?next={CONTINUE}",
                            {"username": "rosa@example.org", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert signed_in["Location"] == CONTINUE
    confirm = client.get(CONTINUE)
    assert confirm.status_code == 200
    assert "Leo Jones" in confirm.content.decode()
    accepted = client.post(CONTINUE)
    assert accepted.status_code == 302
    link = caregiver.caregiver_links.get(patient=second_child)
    assert link.is_active()
    assert link.relationship == "mother"
    # Audited: who accepted, and the link's history says how it came to be.
    invitation = Invitation.objects.get()
    assert invitation.accepted_user == caregiver
    created = link.history.get(history_type="+")
    assert created.history_user == caregiver
    assert "accepted by its owner" in created.history_change_reason
    home = client.get(reverse("home")).content.decode()
    assert "Leo Jones" in home
    assert "Maya Jones" in home
    assert User.objects.filter(email__iexact="rosa@example.org").count() == 1


def test_a_signed_in_account_with_another_email_learns_nothing(
        as_user, nurse, caregiver, second_child, patient_user):
    _, token = services.invitation_create(
        created_by=nurse, care_team=second_child.care_team, patient=second_child,
        email="rosa@example.org", full_name="Rosa", role=Role.CAREGIVER,
        relationship="mother")
    client = as_user(patient_user)
    response = open_link(client, token)
    assert response.status_code == 403
    body = response.content.decode()
    for secret in ("rosa@example.org", "Leo Jones", second_child.care_team.name, "Rosa"):
        assert secret not in body
    assert client.post(CONTINUE).status_code == 410  # the token was dropped
    assert not caregiver.caregiver_links.filter(patient=second_child).exists()
    assert Invitation.objects.get().accepted_at is None


def test_refusal_is_the_same_for_a_valid_and_an_unknown_address(as_user, nurse, caregiver,
                                                                second_child, patient_user):
    """A mismatched account cannot use the page to test who else has been invited."""
    _, token = services.invitation_create(
        created_by=nurse, care_team=second_child.care_team, patient=second_child,
        email="rosa@example.org", full_name="Rosa", role=Role.CAREGIVER, relationship="m")
    _, other = services.invitation_create(
        created_by=nurse, care_team=second_child.care_team, patient=second_child,
        email="nobody.yet@example.org", full_name="N", role=Role.CAREGIVER, relationship="m")
    import re

    pages = []
    for t in (token, other):
        response = open_link(as_user(patient_user), t)
        body = re.sub(r'value="[^"]*"', "", response.content.decode())
        pages.append((response.status_code, body))
    assert pages[0] == pages[1]
    assert pages[0][0] == 403


def test_nurse_joins_a_second_team_by_accepting(client, team_admin, team, other_team_nurse):
    _, token = services.invitation_create(
        created_by=team_admin, care_team=team, email="outsider@example.org",
        full_name="O", role=Role.NURSE)
    from tests.conftest import verified_client

    signed_in = verified_client(other_team_nurse)
    open_link(signed_in, token)
    assert signed_in.post(CONTINUE).status_code == 302
    assert set(other_team_nurse.memberships.values_list("team", flat=True)) == {
        team.pk, other_team_nurse.memberships.exclude(team=team).get().team_id}


def test_an_account_of_another_role_cannot_take_the_invitation(as_user, nurse, child,
                                                               patient_user):
    _, token = make_invitation(nurse, child, email="sam@example.org")
    client = as_user(patient_user)
    open_link(client, token)
    response = client.post(CONTINUE)
    assert response.status_code == 410
    assert "for a caregiver" in response.content.decode()
    assert not patient_user.caregiver_links.exists()


def test_re_invited_after_the_link_ended_gets_a_new_active_link(client, nurse, child):
    from tests.factories import expired_link

    old = expired_link(patient=child)
    _, token = make_invitation(nurse, child, email=old.caregiver.email)
    client.force_login(old.caregiver)
    open_link(client, token)
    assert client.post(CONTINUE).status_code == 302
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert old.caregiver.caregiver_links.active().get().patient == child
