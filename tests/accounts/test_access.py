"""accounts/access.py: who sees which patient, as a matrix."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from accounts import access
from accounts.models import Role
from tests.factories import CaregiverLinkFactory, PatientFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(team, other_team, patient, child, caregiver, nurse, clinician, team_admin,
         other_team_nurse, other_patient):
    other_family_child = PatientFactory(care_team=team, display_name="Other family child")
    other_caregiver = CaregiverLinkFactory(patient=other_family_child).caregiver
    return {
        "patient": patient.user,
        "caregiver": caregiver,
        "other_caregiver": other_caregiver,
        "nurse": nurse,
        "clinician": clinician,
        "team_admin": team_admin,
        "other_team_nurse": other_team_nurse,
        "targets": {
            "own": patient,
            "linked_child": child,
            "other_family": other_family_child,
            "other_team": other_patient,
        },
    }


# Which of the four target patients each role may see.
MATRIX = {
    "patient": {"own"},
    "caregiver": {"linked_child"},
    "other_caregiver": {"other_family"},
    "nurse": {"own", "linked_child", "other_family"},
    "clinician": {"own", "linked_child", "other_family"},
    "team_admin": {"own", "linked_child", "other_family"},
    "other_team_nurse": {"other_team"},
}


@pytest.mark.parametrize("role", sorted(MATRIX))
@pytest.mark.parametrize("target", ["own", "linked_child", "other_family", "other_team"])
def test_access_matrix(cast, role, target):
    user = cast[role]
    patient = cast["targets"][target]
    allowed = target in MATRIX[role]
    assert access.patients_for(user).filter(pk=patient.pk).exists() is allowed
    if allowed:
        assert access.patient_for(user, patient.pk) == patient
    else:
        with pytest.raises(Http404):
            access.patient_for(user, patient.pk)


def test_missing_and_malformed_ids_answer_404_like_foreign_ones(nurse):
    for bad in (999_999, "abc", "1 OR 1=1", None):
        with pytest.raises(Http404):
            access.patient_for(nurse, bad)


def test_expired_caregiver_link_gives_no_access(child):
    link = CaregiverLinkFactory(patient=child, ends_at=timezone.now() - timedelta(seconds=1))
    assert not access.patients_for(link.caregiver).exists()
    assert not access.may_record_check_in(link.caregiver, child)


def test_link_with_future_end_gives_access_until_then(child):
    link = CaregiverLinkFactory(patient=child, ends_at=timezone.now() + timedelta(days=2))
    assert access.patients_for(link.caregiver).get() == child
    later = timezone.now() + timedelta(days=3)
    assert not access.patients_for(link.caregiver, now=later).exists()


def test_revoking_a_link_ends_access_at_once(child, caregiver):
    from accounts.services import caregiver_link_revoke

    assert access.patients_for(caregiver).exists()
    caregiver_link_revoke(link=caregiver.caregiver_links.get())
    assert not access.patients_for(caregiver).exists()
    assert not access.may_record_check_in(caregiver, child)


def test_deactivated_users_see_nobody(patient, caregiver, nurse):
    for user in (patient.user, caregiver, nurse):
        user.is_active = False
        user.save()
        assert not access.patients_for(user).exists()
        assert not access.may_record_check_in(user, patient)


def test_view_only_caregiver_sees_but_may_not_record(child):
    link = CaregiverLinkFactory(patient=child, may_log=False)
    assert access.patients_for(link.caregiver).get() == child
    assert not access.may_record_check_in(link.caregiver, child)


def test_who_may_record_a_check_in(cast):
    own, child = cast["targets"]["own"], cast["targets"]["linked_child"]
    assert access.may_record_check_in(cast["patient"], own)
    assert not access.may_record_check_in(cast["patient"], child)
    assert access.may_record_check_in(cast["caregiver"], child)
    assert access.may_record_check_in(cast["nurse"], own)  # after a phone call
    assert access.may_record_check_in(cast["clinician"], own)
    assert not access.may_record_check_in(cast["team_admin"], own)
    assert not access.may_record_check_in(cast["other_team_nurse"], own)


def test_staff_in_two_teams_see_both(team, other_team, patient, other_patient):
    both = StaffFactory(team=team)
    both.memberships.create(team=other_team)
    assert set(access.patients_for(both)) == {patient, other_patient}


def test_a_patient_without_a_record_sees_nobody(db):
    assert not access.patients_for(UserFactory(role=Role.PATIENT)).exists()


@pytest.mark.parametrize(
    "url_name", ["patient_detail", "invitation_create"]
)
def test_foreign_patient_pages_answer_404(as_user, other_team_nurse, patient, url_name):
    from django.urls import reverse

    response = as_user(other_team_nurse).get(reverse(url_name, args=[patient.pk]))
    assert response.status_code == 404


def test_caregiver_cannot_revoke_links(as_user, caregiver):
    from django.urls import reverse

    link = caregiver.caregiver_links.get()
    response = as_user(caregiver).post(reverse("caregiver_link_revoke", args=[link.pk]))
    assert response.status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


def test_other_team_nurse_cannot_revoke_links(as_user, caregiver, other_team_nurse):
    from django.urls import reverse

    link = caregiver.caregiver_links.get()
    response = as_user(other_team_nurse).post(reverse("caregiver_link_revoke", args=[link.pk]))
    assert response.status_code == 404


def test_nurse_ends_a_caregivers_access(as_user, nurse, caregiver, child):
    from django.urls import reverse

    link = caregiver.caregiver_links.get()
    response = as_user(nurse).post(reverse("caregiver_link_revoke", args=[link.pk]))
    assert response.status_code == 302
    assert not access.patients_for(caregiver).exists()
    # The change is in the link's history, with who made it.
    assert link.history.count() == 2


# --- A person's place in a team: active relations only -------------------------------------

def test_people_of_a_team_are_those_with_an_active_place_there(team, other_team, patient,
                                                               child, caregiver, nurse,
                                                               other_team_nurse):
    now = timezone.now()
    ending_later = CaregiverLinkFactory(patient=child, ends_at=now + timedelta(days=2))
    ended = CaregiverLinkFactory(patient=child, ends_at=now - timedelta(seconds=1))
    revoked = CaregiverLinkFactory(patient=child, revoked_at=now - timedelta(days=300))
    people = set(access.people_of_team(team))
    assert {patient.user, caregiver, nurse, ending_later.caregiver} <= people
    assert not {ended.caregiver, revoked.caregiver, other_team_nurse} & people
    assert set(access.people_of_team(other_team)) == {other_team_nurse}


def test_only_that_teams_admin_reaches_a_person_through_it(team, other_team, caregiver,
                                                           team_admin, nurse):
    assert access.person_in_team_for(team_admin, team, caregiver.pk) == caregiver
    other_admin = StaffFactory(team=other_team, role=Role.TEAM_ADMIN)
    for user, where in ((nurse, team), (other_admin, team), (team_admin, other_team)):
        with pytest.raises(Http404):
            access.person_in_team_for(user, where, caregiver.pk)
    with pytest.raises(Http404):
        access.person_in_team_for(team_admin, team, "1 OR 1=1")


def test_team_people_page_is_per_team(as_user, team, other_team, team_admin, caregiver,
                                      other_team_nurse):
    from django.urls import reverse

    team_admin.memberships.create(team=other_team)
    client = as_user(team_admin)
    here = client.get(reverse("team_people", args=[team.pk])).content.decode()
    there = client.get(reverse("team_people", args=[other_team.pk])).content.decode()
    assert caregiver.email in here
    assert caregiver.email not in there
    assert other_team_nurse.email in there
    assert other_team_nurse.email not in here
