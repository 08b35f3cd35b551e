"""TreatmentPlan.bag_schedule_from: existing plans count bag changes as due only from now
(the portal cannot know what the family was told before; paging the team for due times
already past at deployment would be a false alarm)."""

from django.db import migrations, models
from django.utils import timezone


def from_now(apps, schema_editor):
    apps.get_model("treatment", "TreatmentPlan").objects.filter(
        bag_schedule_from__isnull=True).update(bag_schedule_from=timezone.now())


class Migration(migrations.Migration):

    dependencies = [
        ('treatment', '0003_visit_cancelled_by_feed_revoked_by'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicaltreatmentplan',
            name='bag_schedule_from',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='treatmentplan',
            name='bag_schedule_from',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(from_now, migrations.RunPython.noop),
    ]
