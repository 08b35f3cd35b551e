"""The admin site: a cycle's start date may be corrected there (the plan page is the usual
place, treatment/views.py). Cycles are added on the plan page only."""

from django.contrib import admin
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from accounts.audit import ReadLoggedAdmin
from treatment.models import TreatmentCycle, TreatmentPlan


@admin.register(TreatmentCycle)
class TreatmentCycleAdmin(ReadLoggedAdmin, SimpleHistoryAdmin):
    list_display = ("plan", "number", "start_date")
    readonly_fields = ("plan", "number")
    fields = ("plan", "number", "start_date")

    def patient_ids_of(self, obj: TreatmentCycle) -> list[int]:
        return [obj.plan.patient_id]

    def save_model(self, request, obj: TreatmentCycle, form, change) -> None:
        """A corrected start changes the bag schedule: bag changes count as due from now
        (TreatmentPlan.bag_schedule_from), as after the plan page's save."""
        super().save_model(request, obj, form, change)
        TreatmentPlan.objects.filter(pk=obj.plan_id).update(bag_schedule_from=timezone.now())

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # through the plan page, which checks the cycles together
