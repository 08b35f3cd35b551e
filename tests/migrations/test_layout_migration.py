"""Issue 12: a database at the schema before the split (alerts and deliveries in the
symptoms app) migrates to the new apps with its rows, ids, relations and history intact.

The database is taken back to that schema with Django's MigrationExecutor (the moves are
state-only, so going back changes no table), filled through the models as they were then,
migrated forward, and read back through today's models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from alerts.models import Alert, AlertCheckIn, MissedCheckIn
from notifications.models import Delivery, DeliveryAttempt, Heartbeat
from symptoms.models import CheckIn

BEFORE = [("symptoms", "0005_delivery_lease_unconfirmed_permanent"),
          ("alerts", None), ("notifications", None)]
MOVED_TABLES = ["symptoms_alert", "symptoms_alertcheckin", "symptoms_historicalalert",
                "symptoms_missedcheckin", "symptoms_delivery", "symptoms_deliveryattempt",
                "symptoms_heartbeat"]
# Tables created by migrations of alerts and notifications after the split.
CREATED_SINCE = {"alerts_bagchangeoverdue"}
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # The models as they were at those nodes (an app taken to zero has none).
    nodes = [target for target in targets if target[1] is not None]
    return MigrationExecutor(connection).loader.project_state(nodes).apps


def _leaves():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _fill_at_old_schema(old, patient, nurse_id) -> dict[str, int]:
    """Rows made through the models of the symptoms app as it was (historical models)."""
    OldCheckIn = old.get_model("symptoms", "CheckIn")
    OldAlert = old.get_model("symptoms", "Alert")
    OldAlertCheckIn = old.get_model("symptoms", "AlertCheckIn")
    OldHistoricalAlert = old.get_model("symptoms", "HistoricalAlert")
    OldDelivery = old.get_model("symptoms", "Delivery")
    OldDeliveryAttempt = old.get_model("symptoms", "DeliveryAttempt")
    OldMissed = old.get_model("symptoms", "MissedCheckIn")
    OldHeartbeat = old.get_model("symptoms", "Heartbeat")
    check_in = OldCheckIn.objects.create(
        patient_id=patient.pk, recorded_at=AT, recorded_by_id=patient.user_id,
        recorded_as="patient", temperature_c=Decimal("38.6"), severity="red",
        findings=[{"rule": "fever_high", "severity": "red", "text": "Temperature 38.6"}],
        rules_version="v1",
    )
    alert = OldAlert.objects.create(
        patient_id=patient.pk, severity="red", rules=["fever_high"], red_rules=["fever_high"],
        rules_version="v1", opened_at=AT, last_notice_at=AT, escalation_from=AT, version=1,
        state="acknowledged", acknowledged_by_id=nurse_id, acknowledged_at=AT,
    )
    OldAlertCheckIn.objects.create(alert=alert, check_in=check_in, attached_at=AT, paged=True)
    OldHistoricalAlert.objects.create(
        id=alert.pk, patient_id=patient.pk, severity="red", rules=[], red_rules=[],
        rules_version="v1", state="open", opened_at=AT, notices=1, version=1, emergency=False,
        outcome="", outcome_note="", history_date=AT, history_type="+",
    )
    delivery = OldDelivery.objects.create(
        key=f"alert:{alert.pk}:notice:notice 1:email:duty@example.org", alert=alert,
        patient_id=patient.pk, purpose="notice", step="notice 1", role="duty",
        channel="email", address="duty@example.org", severity="red", state="sent",
        attempts=1, next_attempt_at=AT, sent_at=AT, created_at=AT,
    )
    fallback = OldDelivery.objects.create(
        key=f"fallback:{delivery.pk}:queue:nurses", alert=alert, patient_id=patient.pk,
        purpose="fallback", step=f"fallback for #{delivery.pk}", role="nurses",
        channel="queue", state="pending", next_attempt_at=AT, created_at=AT,
        fallback_for=delivery,
    )
    attempt = OldDeliveryAttempt.objects.create(delivery=delivery, number=1, started_at=AT,
                                                finished_at=AT, result="sent")
    missed = OldMissed.objects.create(patient_id=patient.pk, day=AT.date(), cutoff_at=AT,
                                      alert=alert)
    OldHeartbeat.objects.create(name="beat", last_run_at=AT, summary={"due": 0})
    # The admin's content type of the alert model, as an existing install has it.
    ContentType.objects.filter(app_label__in=["alerts", "symptoms"], model="alert").delete()
    content_type = ContentType.objects.create(app_label="symptoms", model="alert")
    return {"check_in": check_in.pk, "alert": alert.pk, "delivery": delivery.pk,
            "fallback": fallback.pk, "attempt": attempt.pk, "missed": missed.pk,
            "content_type": content_type.pk}


@pytest.mark.django_db(transaction=True)
def test_a_database_before_the_split_migrates_with_its_alerts_deliveries_and_history(
        nurse, patient):
    old = _migrate(BEFORE)
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    assert set(MOVED_TABLES) <= tables
    assert "symptoms.alert" in {f"{m._meta.app_label}.{m._meta.model_name}"
                                for m in old.get_models()}

    ids = _fill_at_old_schema(old, patient, nurse.pk)
    _migrate(_leaves())

    alert = Alert.objects.select_related("patient", "acknowledged_by").get(pk=ids["alert"])
    assert (alert.patient, alert.state, alert.acknowledged_by) == (patient, "acknowledged",
                                                                   nurse)
    assert list(alert.check_ins.values_list("pk", flat=True)) == [ids["check_in"]]
    assert AlertCheckIn.objects.get(alert=alert).paged is True
    assert CheckIn.objects.get(pk=ids["check_in"]).alerts.get() == alert
    assert [(h.history_type, h.state) for h in alert.history.all()] == [("+", "open")]

    delivery = Delivery.objects.get(pk=ids["delivery"])
    assert (delivery.alert, delivery.state, delivery.sent_at) == (alert, "sent", AT)
    assert list(alert.deliveries.order_by("pk").values_list("pk", flat=True)) == [
        ids["delivery"], ids["fallback"]]
    assert Delivery.objects.get(pk=ids["fallback"]).fallback_for == delivery
    assert DeliveryAttempt.objects.get(pk=ids["attempt"]).delivery == delivery
    assert MissedCheckIn.objects.get(pk=ids["missed"]).alert == alert
    assert Heartbeat.objects.get(name="beat").summary == {"due": 0}
    # Permissions and admin log entries keep pointing at the model: its content type moved.
    assert ContentType.objects.get(pk=ids["content_type"]).app_label == "alerts"
    assert ContentType.objects.get_for_model(Alert).pk == ids["content_type"]

    # New rows continue the same id sequences (the tables, not copies of them).
    newer = Delivery.objects.create(key="after the split", patient=patient, purpose="notice",
                                    step="notice 2", role="duty", channel="queue",
                                    next_attempt_at=AT, created_at=AT)
    assert newer.pk > ids["fallback"]


@pytest.mark.django_db(transaction=True)
def test_the_split_migrates_back_without_touching_a_table(nurse):
    with connection.cursor() as cursor:
        before = set(connection.introspection.table_names(cursor))
    _migrate(BEFORE)
    with connection.cursor() as cursor:
        # Tables that later migrations of the moved apps created (issue 13's overdue bag
        # changes, alerts/0002) go with them; every table of the split itself stays.
        assert set(connection.introspection.table_names(cursor)) == before - CREATED_SINCE
    _migrate(_leaves())
    with connection.cursor() as cursor:
        assert set(connection.introspection.table_names(cursor)) == before
