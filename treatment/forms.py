"""The staff forms of the treatment plan and clinic visits (strict fields, portal/fields.py).

The forms parse; the rules between fields (a cycle at least 42 days after the one before,
a started cycle kept unless confirmed, a visit not in the past) are the services' (one
place for them), whose errors the views put back on these fields by name.
"""

from __future__ import annotations

from datetime import date

from django import forms

from portal.fields import (
    DATE_RULES,
    StrictDateField,
    StrictIntegerField,
    StrictTextField,
    StrictTimeField,
    today,
    years_from_today,
)
from treatment.models import BAG_HOURS, MAX_CYCLES, ChangedBy, TreatmentPlan
from treatment.services import PLACE_MAX_CHARS, PlanValues

BAG_CHOICES = [("", "not set yet")] + [(str(h), f"{h} hours") for h in BAG_HOURS]


class TreatmentPlanForm(forms.Form):
    """planned_cycles (1-5), cycle_1_start..cycle_5_start (cycle 1 required; a blank later
    cycle starts 42 days after the one before), bag_hours, usual_change_time, changed_by,
    confirm_started."""

    planned_cycles = StrictIntegerField(label="Planned cycles", min_value=1,
                                        max_value=MAX_CYCLES)
    bag_hours = forms.TypedChoiceField(label="Bag duration", choices=BAG_CHOICES,
                                       coerce=int, empty_value=None, required=False)
    usual_change_time = StrictTimeField(
        label="Usual bag change time", required=False,
        help_text="On the patient's clock, like 10:00.")
    changed_by = forms.ChoiceField(label="Who changes the bag", choices=ChangedBy.choices,
                                   widget=forms.RadioSelect)
    confirm_started = forms.BooleanField(
        label="Correct a started cycle", required=False,
        help_text="Only to correct the start of a cycle that has already started (or to "
                  "enter a start in the past): it changes where the patient was shown to "
                  "be on past days.")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for number in range(1, MAX_CYCLES + 1):
            self.fields[f"cycle_{number}_start"] = StrictDateField(
                label=f"Cycle {number} start", required=number == 1,
                **DATE_RULES["start_date"])
        # The order on the page: cycles first, then the bag.
        order = ["planned_cycles", *(f"cycle_{n}_start" for n in range(1, MAX_CYCLES + 1)),
                 "bag_hours", "usual_change_time", "changed_by", "confirm_started"]
        self.order_fields(order)

    @classmethod
    def initial_for(cls, plan: TreatmentPlan | None) -> dict[str, object]:
        """The page's first values: the stored plan, or a new plan's defaults."""
        if plan is None:
            return {"planned_cycles": 1, "changed_by": ChangedBy.DAY_UNIT}
        initial: dict[str, object] = {
            "planned_cycles": plan.planned_cycles, "bag_hours": plan.bag_hours or "",
            "usual_change_time": (plan.usual_change_time.strftime("%H:%M")
                                  if plan.usual_change_time else ""),
            "changed_by": plan.changed_by}
        for number, start in plan.cycles.values_list("number", "start_date"):
            # ISO text: a date object would render in the site's format, which an
            # <input type="date"> refuses (the box showed empty and cycle 1 was "required").
            initial[f"cycle_{number}_start"] = start.isoformat()
        return initial

    def cycle_fields(self) -> list[forms.BoundField]:
        return [self[f"cycle_{n}_start"] for n in range(1, MAX_CYCLES + 1)]

    def values(self) -> PlanValues:
        """The cleaned values for treatment.services.plan_save (after is_valid())."""
        data = self.cleaned_data
        starts: tuple[date | None, ...] = tuple(
            data.get(f"cycle_{n}_start") for n in range(1, MAX_CYCLES + 1))
        return PlanValues(planned_cycles=data["planned_cycles"], cycle_starts=starts,
                          bag_hours=data.get("bag_hours"),
                          usual_change_time=data.get("usual_change_time"),
                          changed_by=data["changed_by"],
                          confirm_started=bool(data.get("confirm_started")))


class ClinicVisitForm(forms.Form):
    """day and at (the patient's wall clock), place (optional, shown to the family)."""

    day = StrictDateField(label="Date", earliest=today, latest=years_from_today(2),
                          window_words="from today up to two years ahead")
    at = StrictTimeField(label="Time", help_text="On the patient's clock, like 09:30.")
    place = StrictTextField(label="Place", max_length=PLACE_MAX_CHARS, required=False,
                            help_text="Shown to the family, never in the calendar feed's titles.")
