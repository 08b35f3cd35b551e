"""The notifications app takes over the outbox from symptoms (state only; see symptoms 0006)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('symptoms', '0006_alerts_and_deliveries_move_out'),
        ('accounts', '0005_careteam_alert_message_detail'),
        ('alerts', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # State only: the tables exist already (made by symptoms 0001-0005) and keep
        # their names; nothing is copied, so data and history stay where they are.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Heartbeat',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=40, unique=True)),
                        ('last_run_at', models.DateTimeField()),
                        ('summary', models.JSONField(blank=True, default=dict)),
                    ],
                    options={
                        'db_table': 'symptoms_heartbeat',
                    },
                ),
                migrations.CreateModel(
                    name='Delivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=255, unique=True)),
                        ('purpose', models.CharField(choices=[('notice', 'Notice'), ('escalation', 'Escalation'), ('fallback', 'Fallback'), ('reminder', 'Check-in reminder')], max_length=12)),
                        ('step', models.CharField(help_text='e.g. notice 2, escalation 1.2', max_length=40)),
                        ('role', models.CharField(choices=[('duty', 'Nurse on duty'), ('escalation', 'Escalation contact'), ('doctor', 'On-call doctor'), ('nurses', 'Nurses (queue)'), ('patient', 'Patient'), ('caregiver', 'Caregiver')], max_length=12)),
                        ('channel', models.CharField(choices=[('email', 'Email'), ('sms', 'SMS'), ('queue', 'Nurse queue'), ('none', 'Nobody (no contact set)')], max_length=8)),
                        ('address', models.CharField(blank=True, max_length=254)),
                        ('severity', models.CharField(blank=True, max_length=5)),
                        ('state', models.CharField(choices=[('pending', 'Pending'), ('in_flight', 'In flight'), ('sent', 'Sent'), ('retry', 'Waiting to retry'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='pending', max_length=10)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField()),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('claim_token', models.UUIDField(blank=True, null=True)),
                        ('lease_until', models.DateTimeField(blank=True, null=True)),
                        ('unconfirmed_attempts', models.PositiveSmallIntegerField(default=0)),
                        ('permanent_failure', models.BooleanField(default=False)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('failed_at', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('cancelled_at', models.DateTimeField(blank=True, null=True)),
                        ('cancel_reason', models.CharField(blank=True, max_length=200)),
                        ('created_at', models.DateTimeField()),
                        ('alert', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='deliveries', to='alerts.alert')),
                        ('fallback_for', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='fallback', to='notifications.delivery')),
                        ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.patient')),
                        ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name_plural': 'deliveries',
                        'db_table': 'symptoms_delivery',
                    },
                ),
                migrations.CreateModel(
                    name='DeliveryAttempt',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveSmallIntegerField()),
                        ('started_at', models.DateTimeField()),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('result', models.CharField(blank=True, choices=[('sent', 'Sent'), ('retry', 'Failed, will retry'), ('failed', 'Failed'), ('interrupted', 'Interrupted (worker stopped)')], max_length=12)),
                        ('error', models.TextField(blank=True)),
                        ('worker', models.CharField(blank=True, max_length=120)),
                        ('delivery', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tries', to='notifications.delivery')),
                    ],
                    options={
                        'db_table': 'symptoms_deliveryattempt',
                        'ordering': ['delivery', 'number'],
                    },
                ),
                migrations.AddIndex(
                    model_name='delivery',
                    index=models.Index(fields=['state', 'next_attempt_at'], name='delivery_state_due'),
                ),
                migrations.AddConstraint(
                    model_name='delivery',
                    constraint=models.CheckConstraint(condition=models.Q(('state__in', ['pending', 'in_flight', 'sent', 'retry', 'failed', 'cancelled'])), name='delivery_state_known'),
                ),
                migrations.AddConstraint(
                    model_name='delivery',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('state', 'sent'), _negated=True), ('sent_at__isnull', False), _connector='OR'), name='delivery_sent_has_time'),
                ),
                migrations.AddConstraint(
                    model_name='delivery',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('state', 'in_flight'), _negated=True), ('claimed_at__isnull', False), _connector='OR'), name='delivery_in_flight_is_claimed'),
                ),
                migrations.AddIndex(
                    model_name='deliveryattempt',
                    index=models.Index(fields=['finished_at'], name='delivery_attempt_finished'),
                ),
            ],
            database_operations=[],
        ),
    ]
