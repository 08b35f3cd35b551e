"""The admin site: a cycle's start date may be corrected there (the plan page is the usual
place, treatment/views.py). Cycles are added on the plan page only."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from accounts.audit import ReadLoggedAdmin
from treatment.models import TreatmentCycle


@admin.register(TreatmentCycle)
class TreatmentCycleAdmin(ReadLoggedAdmin, SimpleHistoryAdmin):
    list_display = ("plan", "number", "start_date")
    readonly_fields = ("plan", "number")
    fields = ("plan", "number", "start_date")

    def patient_ids_of(self, obj: TreatmentCycle) -> list[int]:
        return [obj.plan.patient_id]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # through the plan page, which checks the cycles together
