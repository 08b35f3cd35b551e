"""Factories for the small cast the tests use (factory_boy)."""

from __future__ import annotations

from datetime import date, timedelta

import factory
from django.utils import timezone

from accounts.models import CaregiverLink, CareTeam, Membership, Patient, Role, User
from treatment.models import TreatmentCycle, TreatmentPlan

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
    # Not Patient fields (the plan is treatment.TreatmentPlan since issue 13): kept as
    # parameters so that PatientFactory(infusion_start_date=..., planned_cycles=...) still
    # makes a patient on treatment: a plan with a cycle 1 row (None: no plan at all).
    infusion_start_date = factory.LazyFunction(lambda: date.today() - timedelta(days=3))
    planned_cycles = 2

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        kwargs.pop("infusion_start_date", None)
        kwargs.pop("planned_cycles", None)
        return super()._build(model_class, *args, **kwargs)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        start = kwargs.pop("infusion_start_date", None)
        cycles = kwargs.pop("planned_cycles", 1)
        patient = super()._create(model_class, *args, **kwargs)
        plan_set(patient, start, cycles)
        return patient


def plan_set(patient: Patient, start: date | None, cycles: int | None = None,
             **later_starts: date) -> TreatmentPlan | None:
    """Give `patient` a treatment plan whose cycle 1 starts on `start` (None: no plan), with
    `cycles` planned (default: as before, or 1) and optional late cycles, e.g.
    `cycle_3=date(...)`. Replaces any cycle rows the patient had. For tests only: staff go
    through treatment.services.plan_save."""
    if start is None:
        TreatmentPlan.objects.filter(patient=patient).delete()
        return None
    plan, _ = TreatmentPlan.objects.get_or_create(patient=patient)
    if cycles is not None:
        plan.planned_cycles = cycles
        plan.save(update_fields=["planned_cycles"])
    plan.cycles.all().delete()
    TreatmentCycle.objects.create(plan=plan, number=1, start_date=start)
    for name, day in later_starts.items():
        TreatmentCycle.objects.create(plan=plan, number=int(name.removeprefix("cycle_")),
                                      start_date=day)
    return plan


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
