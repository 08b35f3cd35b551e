"""Factories for the small cast the tests use (factory_boy)."""

from __future__ import annotations

from datetime import date, timedelta

import factory
from django.utils import timezone

from accounts.models import CaregiverLink, CareTeam, Membership, Patient, Role, User

PASSWORD = "correct horse battery staple"


class CareTeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareTeam

    name = factory.Sequence(lambda n: f"Haematology team {n}")
    line_phone = factory.Sequence(lambda n: f"01632 96{n % 10000:04d}")
    duty_email = factory.Sequence(lambda n: f"duty{n}@example.org")
    escalation_email = factory.Sequence(lambda n: f"sister{n}@example.org")
    on_call_doctor_email = factory.Sequence(lambda n: f"oncall{n}@example.org")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name")
    role = Role.PATIENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    role = Role.NURSE

    @factory.post_generation
    def team(obj, create, extracted, **kwargs):
        if create and extracted is not None:
            Membership.objects.create(user=obj, team=extracted)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    care_team = factory.SubFactory(CareTeamFactory)
    display_name = factory.Faker("name")
    date_of_birth = date(1980, 5, 17)
    hospital_number = factory.Sequence(lambda n: f"HN-{n:06d}")
    infusion_start_date = factory.LazyFunction(lambda: date.today() - timedelta(days=3))
    planned_cycles = 2


class CaregiverLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaregiverLink

    caregiver = factory.SubFactory(UserFactory, role=Role.CAREGIVER)
    patient = factory.SubFactory(PatientFactory)
    relationship = "mother"
    may_log = True


def expired_link(**kwargs: object) -> CaregiverLink:
    return CaregiverLinkFactory(ends_at=timezone.now() - timedelta(minutes=1), **kwargs)


def revoked_link(**kwargs: object) -> CaregiverLink:
    return CaregiverLinkFactory(revoked_at=timezone.now() - timedelta(minutes=1), **kwargs)
