"""The admin site's own write and read paths: thresholds boxes that refuse what would break
a patient's pages, and second-factor secrets that are never shown."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import verified_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return UserFactory(email="root@example.org", is_staff=True, is_superuser=True,
                       role="team_admin")


def _change_form_data(client, url: str) -> dict[str, list[str]]:
    """What a browser would send back from the change form, unchanged."""
    from tests.test_hostile_input_table import _FormReader

    page = client.get(url)
    assert page.status_code == 200
    form_id = page.context["adminform"].form._meta.model._meta.model_name + "_form"
    reader = _FormReader(form_id)
    reader.feed(page.content.decode())
    data: dict[str, list[str]] = {}
    for name, value in reader.data:
        data.setdefault(name, []).append(value)
    return data


@pytest.mark.parametrize(("typed", "words"), [
    ("[]", "must be an object"),
    ("null", "must be an object"),
    ('"fever"', "must be an object"),
    ("[" * 5_000, "nested too deeply"),
    ("[" * 100_000, "Thresholds: at most 10,000 characters"),
])
@pytest.mark.parametrize("which", ["patient", "team"])
def test_admin_thresholds_box_refuses_what_is_not_an_object(superuser, patient, which,
                                                            typed, words):
    obj = patient if which == "patient" else patient.care_team
    model = "patient" if which == "patient" else "careteam"
    client = verified_client(superuser)
    url = reverse(f"admin:accounts_{model}_change", args=[obj.pk])
    data = _change_form_data(client, url)
    data["thresholds"] = [typed]
    response = client.post(url, data)
    assert response.status_code == 200, "refused on the page, not a 500 or a save"
    errors = response.context["adminform"].form.errors
    assert words in " ".join(errors["thresholds"])
    obj.refresh_from_db()
    assert obj.thresholds == {}


@pytest.mark.parametrize("which", ["patient", "team"])
def test_admin_thresholds_box_left_empty_means_no_overrides(superuser, patient, which):
    obj = patient if which == "patient" else patient.care_team
    obj.thresholds = {"fever_high_c": "37.8"}
    obj.save()
    model = "patient" if which == "patient" else "careteam"
    client = verified_client(superuser)
    url = reverse(f"admin:accounts_{model}_change", args=[obj.pk])
    data = _change_form_data(client, url)
    data["thresholds"] = [""]
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context[
        "adminform"].form.errors
    obj.refresh_from_db()
    assert obj.thresholds == {}


def test_thresholds_page_survives_a_stored_value_that_is_not_an_object(as_user, nurse,
                                                                        patient):
    # Written before the admin site checked the box: the page shows "no overrides".
    type(patient).objects.filter(pk=patient.pk).update(thresholds=[])
    response = as_user(nurse).get(reverse("patient_thresholds", args=[patient.pk]))
    assert response.status_code == 200


def test_admin_never_shows_an_authenticators_secret(superuser, nurse):
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    static = StaticDevice.objects.create(user=nurse, name="backup", confirmed=True)
    StaticToken.objects.create(device=static, token="backupcode1")
    client = verified_client(superuser)
    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200
    assert device.key not in page.content.decode()
    static_page = client.get(reverse("admin:otp_static_staticdevice_change",
                                     args=[static.pk]))
    assert static_page.status_code == 200
    assert "backupcode1" not in static_page.content.decode()
    # Nor on the QR code or config pages django-otp adds for the device.
    for name in ("admin:otp_totp_totpdevice_config", "admin:otp_totp_totpdevice_qrcode"):
        assert client.get(reverse(name, args=[device.pk])).status_code == 403


@pytest.mark.parametrize("model", ["patient", "careteam"])
def test_admin_add_form_shows_an_empty_thresholds_box(superuser, model):
    client = verified_client(superuser)
    page = client.get(reverse(f"admin:accounts_{model}_add"))
    assert page.status_code == 200
    box = page.context["adminform"].form["thresholds"]
    assert box.value() in (None, "", {}), box.value()
    assert ">null</textarea>" not in page.content.decode()
