"""Alerts and the delivery outbox leave the symptoms app (issue 12).

Alert, AlertCheckIn, HistoricalAlert and MissedCheckIn are now the alerts app's; Delivery,
DeliveryAttempt and Heartbeat the notifications app's. Only Django's idea of which app
owns them changes: their tables (symptoms_alert, symptoms_historicalalert, ...) stay, with
their rows, ids, constraints and indexes. Content types follow the models, so admin log
entries and permissions keep pointing at them.
"""

from django.db import migrations

# model (lower case) -> the app that owns it now
MOVED = {
    "alert": "alerts", "alertcheckin": "alerts", "historicalalert": "alerts",
    "missedcheckin": "alerts",
    "delivery": "notifications", "deliveryattempt": "notifications",
    "heartbeat": "notifications",
}


def _content_types_follow(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model, app_label in MOVED.items():
        # A fresh database has none yet (post_migrate makes them later): nothing to do.
        ContentType.objects.filter(app_label="symptoms", model=model).update(app_label=app_label)


def _content_types_return(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model, app_label in MOVED.items():
        ContentType.objects.filter(app_label=app_label, model=model).update(app_label="symptoms")


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('symptoms', '0005_delivery_lease_unconfirmed_permanent'),
    ]

    operations = [
        # State only: the tables exist already (made by symptoms 0001-0005) and keep
        # their names; nothing is copied, so data and history stay where they are.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='alert',
                    name='acknowledged_by',
                ),
                migrations.RemoveField(
                    model_name='alert',
                    name='check_ins',
                ),
                migrations.RemoveField(
                    model_name='alert',
                    name='patient',
                ),
                migrations.RemoveField(
                    model_name='alert',
                    name='resolved_by',
                ),
                migrations.RemoveField(
                    model_name='delivery',
                    name='alert',
                ),
                migrations.RemoveField(
                    model_name='alertcheckin',
                    name='alert',
                ),
                migrations.RemoveField(
                    model_name='missedcheckin',
                    name='alert',
                ),
                migrations.RemoveField(
                    model_name='alertcheckin',
                    name='check_in',
                ),
                migrations.RemoveField(
                    model_name='delivery',
                    name='fallback_for',
                ),
                migrations.RemoveField(
                    model_name='delivery',
                    name='patient',
                ),
                migrations.RemoveField(
                    model_name='delivery',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='deliveryattempt',
                    name='delivery',
                ),
                migrations.DeleteModel(
                    name='Heartbeat',
                ),
                migrations.RemoveField(
                    model_name='historicalalert',
                    name='acknowledged_by',
                ),
                migrations.RemoveField(
                    model_name='historicalalert',
                    name='history_user',
                ),
                migrations.RemoveField(
                    model_name='historicalalert',
                    name='patient',
                ),
                migrations.RemoveField(
                    model_name='historicalalert',
                    name='resolved_by',
                ),
                migrations.RemoveField(
                    model_name='missedcheckin',
                    name='patient',
                ),
                migrations.DeleteModel(
                    name='Alert',
                ),
                migrations.DeleteModel(
                    name='AlertCheckIn',
                ),
                migrations.DeleteModel(
                    name='Delivery',
                ),
                migrations.DeleteModel(
                    name='DeliveryAttempt',
                ),
                migrations.DeleteModel(
                    name='HistoricalAlert',
                ),
                migrations.DeleteModel(
                    name='MissedCheckIn',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(_content_types_follow, _content_types_return),
    ]
