"""The family's private calendar feed (iCalendar, RFC 5545, with the `icalendar` library).

What a feed holds, for one patient, from `now` (clinical-rules.md, "Treatment calendar and
bag changes"; docs/clinical-safety.md, "Treatment calendar"):
- "Homeline: bag change" at each change due over the next FEED_WEEKS weeks: the next one
  from the last recorded change (treatment.bag_changes.due_from), then one bag duration
  after the other, assuming each is changed on time, within each cycle's infusion;
- "Homeline: clinic visit" for each visit booked and not cancelled, from a day back (all
  of them: visits are few and booked at most two years ahead);
- "Homeline: daily check-in" on each infusion day of the next FEED_WEEKS weeks, the hour
  before the team's daily cut-off (CareTeam.check_in_cutoff), as the sweep reminds.
Times are in the patient's zone (TZID with its VTIMEZONE). Titles and descriptions say
nothing about the illness: no diagnosis, drug, hospital number, patient name or place.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.crypto import salted_hmac
from icalendar import Alarm, Calendar, Event

from accounts.models import Patient
from treatment import calendar
from treatment.bag_changes import due_from, last_bag_changes
from treatment.models import ChangedBy, ClinicVisit, TreatmentPlan

FEED_WEEKS = 8
CHECK_IN_REMINDER = timedelta(hours=1)  # the event ends at the cut-off
BAG_CHANGE_MINUTES = 30
VISIT_MINUTES = 60
PRODID = "-//Homeline//calendar feed//EN"
TITLE_BAG = "Homeline: bag change"
TITLE_VISIT = "Homeline: clinic visit"
TITLE_CHECK_IN = "Homeline: daily check-in"
# The bag event's text, by who changes the bag (TreatmentPlan.changed_by).
BAG_TEXT = {
    ChangedBy.TRAINED_CAREGIVER: "A bag change is due. Record it on Homeline once done.",
    ChangedBy.DAY_UNIT: "The day unit changes the bag at about this time.",
    ChangedBy.HOME_NURSE: "A home nurse comes to change the bag at about this time.",
}
# Steps of the bag change series at most (168 h bags: 8 a cycle; 24 h bags: 56 in 8 weeks).
_MAX_STEPS = 500


def bag_change_times(*, plan: TreatmentPlan | None, schedule: calendar.Schedule | None,
                     tz: ZoneInfo, last_changed_at: datetime | None, now: datetime,
                     until: datetime) -> list[datetime]:
    """The bag changes due from `now` to `until` (UTC instants, in order): the next due
    (which may be before `now`: late) and each one bag duration after the one before,
    within each cycle's infusion (treatment.bag_changes.due_from). Pure. Empty without a
    plan, a started schedule or a bag duration."""
    if plan is None or schedule is None or plan.bag_hours is None:
        return []
    times: list[datetime] = []
    at, last = now, last_changed_at
    for _ in range(_MAX_STEPS):
        due = due_from(plan_schedule=schedule, bag_hours=plan.bag_hours,
                       usual_change_time=plan.usual_change_time, tz=tz,
                       last_changed_at=last, now=at, schedule_from=plan.bag_schedule_from)
        if due is None:
            # No bag in this cycle any more: the next cycle, from its first midnight.
            today = at.astimezone(tz).date()
            later = [start for start in schedule.starts if start > today]
            if not later:
                break
            at = datetime.combine(later[0], time(0), tzinfo=tz).astimezone(UTC)
            last = None
            continue
        if due > until:
            break
        times.append(due)
        last, at = due, max(due, at)
    return times


def check_in_times(*, schedule: calendar.Schedule | None, tz: ZoneInfo, cutoff: time,
                   first: date, last: date) -> list[datetime]:
    """The cut-off (UTC) of each infusion day from `first` to `last`. Pure."""
    days = calendar.infusion_days(schedule, first, last)
    return [datetime.combine(day, cutoff, tzinfo=tz).astimezone(UTC) for day in days]


def event_uid(kind: str, *parts: object) -> str:
    """An opaque, stable UID for an event (RFC 5545): an HMAC of `kind` and `parts` with the
    site's secret, so the feed shows no database id (a patient's or a visit's). The same
    event keeps its UID across fetches and feeds of the patient; it changes only with
    SECRET_KEY (calendars then replace the events)."""
    value = ":".join([kind, *map(str, parts)])
    return f"{salted_hmac('homeline.feed.uid', value).hexdigest()[:32]}@homeline"


def _event(uid: str, title: str, start: datetime, end: datetime, tz: ZoneInfo,
           description: str, stamp: datetime, *, alarm: bool = False) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("summary", title)
    event.add("dtstart", start.astimezone(tz))
    event.add("dtend", end.astimezone(tz))
    event.add("dtstamp", stamp)
    event.add("description", description)
    event.add("transp", "TRANSPARENT")
    if alarm:
        reminder = Alarm()
        reminder.add("action", "DISPLAY")
        reminder.add("description", title)
        reminder.add("trigger", timedelta(0))
        event.add_component(reminder)
    return event


def feed_calendar(patient: Patient, now: datetime) -> Calendar:
    """The patient's feed as an icalendar Calendar (see the module text). A few queries:
    the plan, its cycle rows, the last bag change, the visits, the team."""
    tz = patient.tz
    until = now + timedelta(weeks=FEED_WEEKS)
    plan = TreatmentPlan.objects.filter(patient=patient).first()
    schedule = calendar.schedule(patient) if plan else None
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Homeline")
    cal.add("x-wr-timezone", patient.time_zone)
    last = last_bag_changes([patient.pk], now).get(patient.pk) if plan else None
    for due in bag_change_times(plan=plan, schedule=schedule, tz=tz, last_changed_at=last,
                                now=now, until=until):
        cal.add_component(_event(
            event_uid("bag", patient.pk, f"{due:%Y%m%dT%H%M}"), TITLE_BAG, due,
            due + timedelta(minutes=BAG_CHANGE_MINUTES), tz,
            BAG_TEXT.get(plan.changed_by, BAG_TEXT[ChangedBy.DAY_UNIT]), now, alarm=True))
    # Every visit booked (at most two years ahead, treatment.services.visit_add).
    visits = ClinicVisit.objects.filter(patient=patient, cancelled_at__isnull=True,
                                        starts_at__gte=now - timedelta(days=1))
    for visit in visits:
        cal.add_component(_event(
            event_uid("visit", visit.pk), TITLE_VISIT, visit.starts_at,
            visit.starts_at + timedelta(minutes=VISIT_MINUTES), tz,
            "A clinic visit. Homeline has the details.", now))
    today = patient.local_today(now)
    cutoff = patient.care_team.check_in_cutoff
    for at in check_in_times(schedule=schedule, tz=tz, cutoff=cutoff, first=today,
                             last=today + timedelta(weeks=FEED_WEEKS)):
        cal.add_component(_event(
            event_uid("check-in", patient.pk, f"{at.astimezone(tz):%Y%m%d}"), TITLE_CHECK_IN,
            at - CHECK_IN_REMINDER, at, tz,
            f"Today's check-in on Homeline, before {cutoff:%H:%M}.", now, alarm=True))
    cal.add_missing_timezones()
    return cal
