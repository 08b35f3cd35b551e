"""Move each patient's plan into treatment (issue 13): a TreatmentPlan and a cycle 1 row
from Patient.infusion_start_date / planned_cycles, before accounts drops those columns.

planned_cycles above 5 (version 1 allowed 12) is capped at 5, the most clinical-rules.md
version 2 plans. A patient without an infusion start date gets no plan: staff set it.
Reversing puts the cycle 1 date and the planned cycles back on the patient.
"""

from django.db import migrations

MAX_CYCLES = 5  # treatment.models.MAX_CYCLES when this was written; frozen here


def plans_from_patients(apps, schema_editor):
    Patient = apps.get_model("accounts", "Patient")
    TreatmentPlan = apps.get_model("treatment", "TreatmentPlan")
    TreatmentCycle = apps.get_model("treatment", "TreatmentCycle")
    have_plan = set(TreatmentPlan.objects.values_list("patient_id", flat=True))
    rows = (Patient.objects.filter(infusion_start_date__isnull=False)
            .exclude(pk__in=have_plan)
            .values_list("pk", "infusion_start_date", "planned_cycles").order_by("pk"))
    for patient_id, start, cycles in rows.iterator(chunk_size=2000):
        plan = TreatmentPlan.objects.create(
            patient_id=patient_id, planned_cycles=max(1, min(MAX_CYCLES, cycles or 1)))
        TreatmentCycle.objects.create(plan=plan, number=1, start_date=start)


def patients_from_plans(apps, schema_editor):
    Patient = apps.get_model("accounts", "Patient")
    TreatmentCycle = apps.get_model("treatment", "TreatmentCycle")
    for patient_id, cycles, start in (TreatmentCycle.objects.filter(number=1)
                                      .values_list("plan__patient_id", "plan__planned_cycles",
                                                   "start_date")):
        Patient.objects.filter(pk=patient_id).update(infusion_start_date=start,
                                                     planned_cycles=cycles)


class Migration(migrations.Migration):

    dependencies = [
        ("treatment", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(plans_from_patients, patients_from_plans),
    ]
