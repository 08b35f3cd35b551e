"""The alerts app takes over its models from symptoms (state only; see symptoms 0006)."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0005_careteam_alert_message_detail'),
        ('symptoms', '0006_alerts_and_deliveries_move_out'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # State only: the tables exist already (made by symptoms 0001-0005) and keep
        # their names; nothing is copied, so data and history stay where they are.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Alert',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('severity', models.CharField(choices=[('green', 'Green'), ('amber', 'Amber'), ('red', 'Red')], max_length=5)),
                        ('emergency', models.BooleanField(default=False)),
                        ('rules', models.JSONField(blank=True, default=list)),
                        ('red_rules', models.JSONField(blank=True, default=list)),
                        ('rules_version', models.CharField(max_length=16)),
                        ('state', models.CharField(choices=[('open', 'Open'), ('acknowledged', 'Acknowledged'), ('resolved', 'Resolved')], default='open', max_length=12)),
                        ('opened_at', models.DateTimeField()),
                        ('notices', models.PositiveSmallIntegerField(default=1)),
                        ('last_notice_at', models.DateTimeField()),
                        ('escalation_from', models.DateTimeField()),
                        ('escalation_round', models.PositiveSmallIntegerField(default=1)),
                        ('escalation_level', models.PositiveSmallIntegerField(default=0)),
                        ('escalation_due_at', models.DateTimeField(blank=True, null=True)),
                        ('version', models.PositiveIntegerField(default=1)),
                        ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                        ('resolved_at', models.DateTimeField(blank=True, null=True)),
                        ('outcome', models.CharField(blank=True, choices=[('advice_given', 'Advice given'), ('patient_attending', 'Patient attending'), ('admitted', 'Admitted'), ('no_action', 'No action needed')], max_length=20)),
                        ('outcome_note', models.TextField(blank=True, max_length=2000)),
                        ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('patient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='alerts', to='accounts.patient')),
                        ('resolved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'symptoms_alert',
                    },
                ),
                migrations.CreateModel(
                    name='AlertCheckIn',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('attached_at', models.DateTimeField()),
                        ('paged', models.BooleanField(default=False)),
                        ('alert_version', models.PositiveIntegerField(default=1)),
                        ('alert', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attachments', to='alerts.alert')),
                        ('check_in', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='symptoms.checkin')),
                    ],
                    options={
                        'db_table': 'symptoms_alertcheckin',
                    },
                ),
                migrations.AddField(
                    model_name='alert',
                    name='check_ins',
                    field=models.ManyToManyField(related_name='alerts', through='alerts.AlertCheckIn', to='symptoms.checkin'),
                ),
                migrations.CreateModel(
                    name='HistoricalAlert',
                    fields=[
                        ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                        ('severity', models.CharField(choices=[('green', 'Green'), ('amber', 'Amber'), ('red', 'Red')], max_length=5)),
                        ('emergency', models.BooleanField(default=False)),
                        ('rules', models.JSONField(blank=True, default=list)),
                        ('red_rules', models.JSONField(blank=True, default=list)),
                        ('rules_version', models.CharField(max_length=16)),
                        ('state', models.CharField(choices=[('open', 'Open'), ('acknowledged', 'Acknowledged'), ('resolved', 'Resolved')], default='open', max_length=12)),
                        ('opened_at', models.DateTimeField()),
                        ('notices', models.PositiveSmallIntegerField(default=1)),
                        ('version', models.PositiveIntegerField(default=1)),
                        ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                        ('resolved_at', models.DateTimeField(blank=True, null=True)),
                        ('outcome', models.CharField(blank=True, choices=[('advice_given', 'Advice given'), ('patient_attending', 'Patient attending'), ('admitted', 'Admitted'), ('no_action', 'No action needed')], max_length=20)),
                        ('outcome_note', models.TextField(blank=True, max_length=2000)),
                        ('history_id', models.AutoField(primary_key=True, serialize=False)),
                        ('history_date', models.DateTimeField(db_index=True)),
                        ('history_change_reason', models.CharField(max_length=100, null=True)),
                        ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                        ('acknowledged_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('patient', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='accounts.patient')),
                        ('resolved_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'historical alert',
                        'verbose_name_plural': 'historical alerts',
                        'db_table': 'symptoms_historicalalert',
                        'ordering': ('-history_date', '-history_id'),
                        'get_latest_by': ('history_date', 'history_id'),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name='MissedCheckIn',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('day', models.DateField()),
                        ('cutoff_at', models.DateTimeField()),
                        ('reminded_at', models.DateTimeField(blank=True, null=True)),
                        ('alerted_at', models.DateTimeField(blank=True, null=True)),
                        ('alert', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='alerts.alert')),
                        ('patient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='missed_days', to='accounts.patient')),
                    ],
                    options={
                        'db_table': 'symptoms_missedcheckin',
                    },
                ),
                migrations.AddIndex(
                    model_name='alert',
                    index=models.Index(condition=models.Q(('escalation_due_at__isnull', False)), fields=['escalation_due_at'], name='alert_escalation_due'),
                ),
                migrations.AddIndex(
                    model_name='alert',
                    index=models.Index(condition=models.Q(('state', 'resolved'), _negated=True), fields=['severity', 'opened_at'], name='alert_open_queue'),
                ),
                migrations.AddConstraint(
                    model_name='alert',
                    constraint=models.UniqueConstraint(condition=models.Q(('state', 'resolved'), _negated=True), fields=('patient',), name='alert_one_open_per_patient'),
                ),
                migrations.AddConstraint(
                    model_name='alert',
                    constraint=models.CheckConstraint(condition=models.Q(('severity__in', ['amber', 'red'])), name='alert_severity_amber_or_red'),
                ),
                migrations.AddConstraint(
                    model_name='alert',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('state', 'resolved'), _negated=True), models.Q(('resolved_at__isnull', False), ('resolved_by__isnull', False), models.Q(('outcome', ''), _negated=True)), _connector='OR'), name='alert_resolved_has_who_when_outcome'),
                ),
                migrations.AddConstraint(
                    model_name='alert',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('state', 'acknowledged'), _negated=True), models.Q(('acknowledged_at__isnull', False), ('acknowledged_by__isnull', False)), _connector='OR'), name='alert_acknowledged_has_who_when'),
                ),
                migrations.AddConstraint(
                    model_name='missedcheckin',
                    constraint=models.UniqueConstraint(fields=('patient', 'day'), name='missed_check_in_per_day'),
                ),
            ],
            database_operations=[],
        ),
    ]
