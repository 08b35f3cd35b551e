"""Opening, attaching and raising alerts in the check-in's transaction (no worker here)."""

from __future__ import annotations

from alerts.models import Alert, AlertState
from alerts.services import alert_resolve
from notifications.models import Channel, Delivery, Purpose
from tests.alerts.conftest import record, record_and_roll_back

FEVER = {"temperature_c": 38.2}
HEADACHE = {"symptoms": {"headache": 2}}  # amber
PUMP_ALARM = {"pump": "alarm"}  # red, another red rule


def notices(alert):
    return list(alert.deliveries.filter(purpose=Purpose.NOTICE).order_by("pk"))


def test_green_check_in_opens_no_alert(patient, patient_user):
    record(patient, patient_user, temperature_c=36.8)
    assert not Alert.objects.exists()
    assert not Delivery.objects.exists()


def test_red_check_in_opens_an_alert_with_one_notice_to_the_nurse_on_duty(patient, patient_user):
    check_in = record(patient, patient_user, **FEVER)
    alert = Alert.objects.get()
    assert (alert.patient, alert.severity, alert.state) == (patient, "red", AlertState.OPEN)
    assert list(alert.check_ins.all()) == [check_in]
    assert alert.rules == ["temperature_high"]
    assert alert.rules_version == "v2"  # clinical-rules.md: the rule set in force is version 2
    [notice] = notices(alert)
    assert (notice.channel, notice.address, notice.role, notice.state) == (
        Channel.EMAIL, patient.care_team.duty_email, "duty", "pending")


def test_red_alert_pages_by_sms_too_when_the_duty_phone_is_set(patient, patient_user, team):
    team.duty_phone = "07700 900123"
    team.save()
    record(patient, patient_user, **FEVER)
    assert sorted(d.channel for d in Delivery.objects.all()) == ["email", "sms"]


def test_amber_alert_pages_by_email_only(patient, patient_user, team):
    team.duty_phone = "07700 900123"
    team.save()
    record(patient, patient_user, **HEADACHE)
    assert [d.channel for d in Delivery.objects.all()] == ["email"]


def test_three_fevers_in_twenty_minutes_make_one_alert_and_one_page(patient, patient_user):
    for temperature in (38.1, 38.4, 38.6):
        record(patient, patient_user, temperature_c=temperature)
    alert = Alert.objects.get()
    assert alert.check_ins.count() == 3
    assert len(notices(alert)) == 1
    assert alert.notices == 1


def test_amber_then_red_pages_again_for_the_rise(patient, patient_user):
    record(patient, patient_user, **HEADACHE)
    record(patient, patient_user, **FEVER)
    alert = Alert.objects.get()
    assert alert.severity == "red"
    assert [n.step for n in notices(alert)] == ["notice 1", "notice 2"]
    assert [n.severity for n in notices(alert)] == ["amber", "red"]


def test_severity_never_falls_while_the_alert_is_open(patient, patient_user):
    record(patient, patient_user, **FEVER)
    record(patient, patient_user, **HEADACHE)
    alert = Alert.objects.get()
    assert alert.severity == "red"
    assert len(notices(alert)) == 1
    assert alert.rules == ["temperature_high", "headache"]


def test_a_red_rule_new_to_the_alert_pages_again(patient, patient_user):
    record(patient, patient_user, **FEVER)
    record(patient, patient_user, **PUMP_ALARM)
    alert = Alert.objects.get()
    assert len(notices(alert)) == 2
    assert alert.red_rules == ["temperature_high", "pump_problem"]


def test_a_raised_alert_that_was_acknowledged_is_open_again(patient, patient_user, nurse):
    from alerts.services import alert_acknowledge

    record(patient, patient_user, **HEADACHE)
    alert_acknowledge(alert=Alert.objects.get(), user=nurse)
    record(patient, patient_user, **FEVER)
    alert = Alert.objects.get()
    assert alert.state == AlertState.OPEN
    assert alert.escalation_round == 2


def test_after_resolving_the_next_check_in_opens_a_new_alert(patient, patient_user, nurse):
    record(patient, patient_user, **FEVER)
    alert_resolve(alert=Alert.objects.get(), user=nurse, outcome="advice_given")
    record(patient, patient_user, **FEVER)
    assert Alert.objects.filter(state=AlertState.OPEN).count() == 1
    assert Alert.objects.count() == 2


def test_each_patient_has_their_own_alert(patient, patient_user, child, caregiver):
    record(patient, patient_user, **FEVER)
    record(child, caregiver, **FEVER)
    assert Alert.objects.count() == 2


def test_notices_are_published_only_after_commit(patient, patient_user,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        record(patient, patient_user, **FEVER)
    assert len(callbacks) == 1  # the publish waits for the commit


def test_rolled_back_check_in_leaves_no_alert_and_publishes_nothing(
    patient, patient_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        record_and_roll_back(patient, patient_user, **FEVER)
    assert callbacks == []
    assert not Alert.objects.exists()
    assert not Delivery.objects.exists()
