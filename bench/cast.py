"""People for the benchmarks: care teams, patients signed in, a nurse signed in with TOTP.

Patients are many (a load test spreads its check-ins over them as real patients do, once
or twice a day), so their sessions are written straight into the session store, exactly as
a sign-in would leave them; every request then goes through the real middleware. The nurse
signs in through the real sign-in and two-step pages.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass
from datetime import date, timedelta

from bench.http import Client

PASSWORD = "bench-" + secrets.token_urlsafe(12)
_ALNUM = string.ascii_letters + string.digits


@dataclass
class SignedIn:
    patient_id: int
    user_id: int
    sessionid: str
    csrftoken: str



def plans_create(rows: list[tuple[int, date, int]]) -> None:
    """Treatment plans in bulk: (patient id, cycle 1 start, planned cycles) per patient, a
    TreatmentPlan and its cycle 1 row each (treatment.services.plan_save is one by one)."""
    from treatment.models import TreatmentCycle, TreatmentPlan

    plans = TreatmentPlan.objects.bulk_create(
        (TreatmentPlan(patient_id=pid, planned_cycles=cycles) for pid, _, cycles in rows),
        batch_size=2000)
    TreatmentCycle.objects.bulk_create(
        (TreatmentCycle(plan=plan, number=1, start_date=start)
         for plan, (_, start, _) in zip(plans, rows, strict=True)), batch_size=2000)

def teams(prefix: str, count: int, *, first: int = 0):
    from accounts.models import CareTeam

    return CareTeam.objects.bulk_create(
        CareTeam(name=f"{prefix} {n:03d}", line_phone="01632 960001",
                 duty_email=f"duty-{prefix.lower().replace(' ', '-')}-{n}@bench.invalid")
        for n in range(first, first + count)
    )


def signed_in_patients(teams_, per_team: int, prefix: str) -> list[SignedIn]:
    """Patients with a login each, on day 10 of an infusion, and a session each."""
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from accounts.middleware import SESSION_KEY
    from accounts.models import Patient, Role, User

    unusable = make_password(None)
    users = User.objects.bulk_create(
        User(email=f"{prefix}-{t.pk}-{n}@bench.invalid".lower(), full_name=f"{prefix} {n}",
             role=Role.PATIENT, password=unusable)
        for t in teams_ for n in range(per_team)
    )
    start = date.today() - timedelta(days=9)
    patients = Patient.objects.bulk_create(
        Patient(care_team=team, user=users[i * per_team + n], display_name=f"{prefix} {n}",
                date_of_birth=date(1970, 1, 1), hospital_number=f"{prefix[:3].upper()}{i}-{n}")
        for i, team in enumerate(teams_) for n in range(per_team)
    )
    plans_create([(p.pk, start, 1) for p in patients])
    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    store = SessionStore()
    rows, signed = [], []
    for patient, user in zip(patients, users, strict=True):
        key = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(32))
        data = {"_auth_user_id": str(user.pk),
                "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                "_auth_user_hash": user.get_session_auth_hash(),
                SESSION_KEY: time.time()}
        rows.append(Session(session_key=key, session_data=store.encode(data),
                            expire_date=expires))
        signed.append(SignedIn(patient.pk, user.pk, key,
                               "".join(secrets.choice(_ALNUM) for _ in range(32))))
    Session.objects.bulk_create(rows)
    return signed


def nurse(team, email: str):
    """A nurse of `team` with a confirmed TOTP device."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import Membership, Role, User

    user = User.objects.create_user(email, PASSWORD, full_name="Bench Nurse", role=Role.NURSE)
    Membership.objects.create(user=user, team=team)
    TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    return user


def sign_in_staff(base_url: str, user) -> Client:
    """Sign in through the real pages: password, then the current TOTP code."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client(base_url)
    page = client.get("/accounts/login/")
    answer = client.post("/accounts/login/", {
        "csrfmiddlewaretoken": client.csrf_from(page), "username": user.email,
        "password": PASSWORD})
    if answer.status != 302:
        raise RuntimeError(f"sign-in answered {answer.status}")
    page = client.get("/accounts/two-factor/verify/?next=/")
    device = TOTPDevice.objects.get(user=user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    answer = client.post("/accounts/two-factor/verify/?next=/", {
        "csrfmiddlewaretoken": client.csrf_from(page), "token": f"{totp.token():06d}"})
    if answer.status != 302:
        raise RuntimeError(f"two-step verification answered {answer.status}")
    return client
