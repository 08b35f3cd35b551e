"""Check-in pages for patients, caregivers, and nurses entering one after a phone call."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from accounts import access
from accounts.audit import record_read
from accounts.context_processors import care_line
from accounts.middleware import keep_check_in, kept_check_in, posted_check_in
from portal.http import posted
from symptoms import services
from symptoms.access import check_in_for
from symptoms.forms import NEURO_PREFIXES, CheckInForm, about_patient
from symptoms.models import CheckIn, Severity
from symptoms.selectors import (
    cycle_window,
    follow_ups,
    neuro_check_done_on,
    temperature_chart,
    window_check_ins,
)
from symptoms.thresholds import ruleset_for_patient
from treatment import calendar
from triage import neuro
from triage.catalogue import (
    CAPD_MAX,
    GRADE_LABELS,
    ICE_MAX,
    PUMP_STATES_BY_CODE,
    SYMPTOMS_BY_CODE,
    WORRY_LABELS,
)
from triage.validation import CheckInInvalid


@login_required
@require_http_methods(["GET", "POST"])
def check_in_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The daily check-in: follow-ups first, the neuro self-check when due, the worry."""
    return _check_in_page(request, patient_id, neuro_only=False)


@login_required
@require_http_methods(["GET", "POST"])
def check_in_neuro(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The neuro-only check-in, always open from the home page ("I'm worried about how
    they are thinking or behaving"): the same service and result page as the daily one."""
    return _check_in_page(request, patient_id, neuro_only=True)


def _neuro_tool_for_form(patient, sent: object, *, neuro_only: bool) -> str:
    """Which neuro check the form holds: the one for the patient's age on the (local) day,
    when the neuro-only page asks, when the daily form is due one (an infusion day without
    a check yet; clinical-rules.md "Once a day during infusion"), or when answers to it
    were sent anyway (a check opened before another one was saved is not thrown away)."""
    today = patient.local_today()
    tool = neuro.neuro_tool_for_age(patient.age_on(today))
    names = list(sent or ())
    # Answers sent to one tool are scored as that tool, whatever today's age says: a CAPD
    # opened the evening before a 12th birthday and sent after midnight must be graded as
    # answered, never dropped as "not done" (trial: it was, and the result was green).
    sent_tools = {name for name, prefix in (("ice", "ice_"), ("capd", "capd_"))
                  if any(sent_name.startswith(prefix) for sent_name in names)}
    if len(sent_tools) == 1:
        return sent_tools.pop()
    if neuro_only:
        return tool
    if any(name.startswith(NEURO_PREFIXES) or name == "neuro_unresponsive" for name in names):
        return tool
    if calendar.on_infusion(patient, today) and not neuro_check_done_on(patient, today):
        return tool
    return ""


def _check_in_page(request: HttpRequest, patient_id: int, *, neuro_only: bool) -> HttpResponse:
    patient = access.patient_for(request.user, patient_id)
    if not access.may_record_check_in(request.user, patient):
        # Visible but view-only (a caregiver without logging rights, a team admin).
        raise Http404
    # A nurse's form names the patient (name, care line): a read (only staff are logged).
    record_read(request, patient, "open check-in form")
    # Someone logging for another person is asked about them, not about "I".
    about = None if patient.user_id == request.user.pk else patient.display_name
    # Answers kept after the idle timeout come back on the page they were sent from.
    page_name = "check_in_neuro" if neuro_only else "check_in_new"
    kept = kept_check_in(request, patient.pk, page_name) if request.method == "GET" else None
    sent = kept if kept else (request.POST if request.method == "POST" else None)
    options = {
        "time_zone": patient.time_zone, "about": about, "neuro_only": neuro_only,
        "follow_ups": [] if neuro_only else follow_ups(patient),
        "neuro_tool": _neuro_tool_for_form(patient, sent, neuro_only=neuro_only),
    }
    if kept:
        # Answers posted after the session had idled out: shown again, never sent for them.
        form = CheckInForm(initial=CheckInForm.initial_from(kept), **options)
    else:
        form = CheckInForm(posted(request), **options)
    if request.method == "POST" and form.is_valid():
        try:
            check_in, _created = services.check_in_record(
                patient=patient,
                recorded_by=request.user,
                data=form.data_result,
                # Missing only when "cannot be woken" was sent from a damaged form: saved.
                submission_key=form.cleaned_data.get("submission_key"),
                neuro_items=form.neuro_items,
            )
        except CheckInInvalid as invalid:
            form.add_check_in_errors(invalid)
        except services.NotAllowed:
            raise Http404 from None
        except services.CheckInNotSaved:
            # Rendered without the request (no context processors): the database is what
            # failed, and this page must still tell the patient to call.
            page = render_to_string("symptoms/check_in_not_saved.html",
                                    {"retry_url": request.path})
            return HttpResponse(page, status=503)
        else:
            return redirect("check_in_result", check_in_id=check_in.pk)
    return render(
        request,
        "symptoms/check_in_neuro.html" if neuro_only else "symptoms/check_in_form.html",
        {
            "form": form,
            "patient": patient,
            "on_behalf": request.user.is_care_staff,
            "care_line": care_line(patient.care_team),
            "restored": bool(kept),
            # The last thing done before the timeout was the emergency tap ("cannot be
            # woken"): the emergency advice comes first (clinical-rules.md, `emergency`).
            "kept_unresponsive": bool(kept and kept.get("neuro_unresponsive")),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a 403 page that says nothing was sent and gives the static call
    advice, rendered without the request's context processors (no database). A check-in
    form sent from a page whose token went stale (signed out and in again in another tab)
    has its answers kept, as after the idle timeout, so that reloading the form shows them;
    only when the browser's Origin header names this site, so that another site's forged
    post can never pre-fill anybody's form."""
    kept = False
    retry_url = None
    try:
        posted = posted_check_in(request, check_csrf=False)
        if posted is not None:
            # Only a check-in page's own path is offered as a link (never a path as sent).
            retry_url = reverse(str(posted["page"]), args=[posted["patient_id"]])
            origin = request.META.get("HTTP_ORIGIN")
            if origin is not None and origin == f"{request.scheme}://{request.get_host()}":
                user = request.user
                if user.is_authenticated:
                    keep_check_in(request, user.pk, posted)
                    kept = True
    except Exception:
        kept = False
    page = render_to_string("403_csrf.html", {"kept": kept, "retry_url": retry_url})
    return HttpResponse(page, status=403)


def _reported_symptoms(check_in: CheckIn) -> list[dict[str, object]]:
    return [
        {
            "words": SYMPTOMS_BY_CODE[code].words,
            "label": SYMPTOMS_BY_CODE[code].label,
            "grade": grade,
            "grade_label": GRADE_LABELS[grade],
            "advice": SYMPTOMS_BY_CODE[code].advice,
        }
        for code, grade in check_in.symptoms.items()
        if code in SYMPTOMS_BY_CODE
    ]


# The numbers of "What was recorded", in form order: field, words ({} is the value).
_NUMBER_LINES = (
    ("spo2", "Oxygen level: {} %"),
    ("systolic_bp", "Blood pressure, top number: {} mmHg"),
    ("heart_rate", "Heart rate: {} beats a minute"),
    ("ice_score", f"Thinking check (ICE score): {{}} of {ICE_MAX}"),
    ("capd_score", f"Behaviour check (CAPD): {{}} of {CAPD_MAX}"),
)


def _recorded_answers(check_in: CheckIn, about: str | None) -> list[str]:
    """Every answered field of a check-in other than temperature, symptoms and notes (shown
    on their own), as the lines of the result page's "What was recorded", in form order.
    A box left empty (None, "") is not listed; a yes/no answered "no" is. about: the
    patient's display name when the reader is someone else (pump words say "I")."""
    lines: list[str] = []

    def yes_no(value: bool | None, words: str) -> None:
        if value is not None:
            lines.append(f"{words}: {'yes' if value else 'no'}")

    yes_no(check_in.antipyretic_last_6h, "Paracetamol, ibuprofen or steroids in the last 6 hours")
    yes_no(check_in.feels_suddenly_unwell, "Suddenly unwell")
    if check_in.stools_above_baseline is not None:
        lines.append(f"Bowel movements above normal in 24 hours: {check_in.stools_above_baseline}")
    yes_no(check_in.diarrhoea_with_blood, "Blood in the diarrhoea")
    if check_in.vomiting_episodes_24h is not None:
        lines.append(f"Times sick (vomited) in 24 hours: {check_in.vomiting_episodes_24h}")
    yes_no(check_in.unable_to_keep_fluids, "Cannot keep fluids down")
    if check_in.pump:
        state = PUMP_STATES_BY_CODE.get(check_in.pump)
        words = state.words if state else check_in.pump
        lines.append(f"Pump: {about_patient(words, about) if about else words}")
    for name, words in _NUMBER_LINES:
        value = getattr(check_in, name)
        if value is not None:
            lines.append(_incomplete_check_line(check_in, name) or words.format(value))
    if check_in.worry is not None:
        lines.append(f"How worried: {WORRY_LABELS.get(check_in.worry, check_in.worry)}")
    return lines


def _incomplete_check_line(check_in: CheckIn, name: str) -> str:
    """For a neuro check stopped part-way, the line saying so and what was sent ("" for a
    finished one): its total is a bound (triage.neuro.ice_bound / capd_bound)."""
    items = check_in.neuro_items if isinstance(check_in.neuro_items, dict) else {}
    if name not in ("ice_score", "capd_score") or items.get("incomplete") is not True:
        return ""
    answered = len(items.get("answers") or {})
    if name == "ice_score":
        return (f"Thinking check not finished: {answered} of {len(neuro.ICE_TASKS)} tasks "
                f"answered and sent, score at most {check_in.ice_score} of {ICE_MAX}")
    return (f"Behaviour check not finished: {answered} of {len(neuro.CAPD_ITEMS)} questions "
            f"answered and sent, score at least {check_in.capd_score} of {CAPD_MAX}")


def _plain_findings(check_in: CheckIn, about: str | None) -> list[str]:
    """The version 2 findings in plain words for the patient or family, in the order of
    the findings (the nurse reads each finding's own text). about: the patient's display
    name when the reader is someone else. clinical-rules.md, "The neurological
    self-check" and "The carer's worry"."""
    whose = f"{about}'s" if about else "Your"
    lines: list[str] = []
    if isinstance(check_in.neuro_items, dict) and check_in.neuro_items.get("unresponsive"):
        lines.append(f"{about or 'The patient'} cannot be woken or does not respond: this "
                     "is an emergency.")
    rules = {f.get("rule"): f.get("values") or {} for f in check_in.findings
             if isinstance(f, dict)}
    if "neuro_ice_severe" in rules:
        score = rules["neuro_ice_severe"].get("ice_score")
        lines.append(f"{whose} thinking check score is very low ({score} of {ICE_MAX}): this "
                     "needs help now.")
    elif "neuro_ice" in rules:
        values = rules["neuro_ice"]
        lines.append(f"{whose} thinking check score ({values.get('ice_score')} of {ICE_MAX}) is "
                     f"lower than usual ({values.get('baseline')}). This can be an early sign "
                     "that the treatment is affecting the nervous system.")
    if "neuro_capd" in rules:
        lines.append(f"The answers about {about or 'the child'}'s behaviour (score "
                     f"{rules['neuro_capd'].get('capd_score')} of {CAPD_MAX}) can be a sign of "
                     "confusion (delirium), which the treatment can cause and which needs "
                     "checking now.")
    elif "neuro_capd_rise" in rules:
        values = rules["neuro_capd_rise"]
        lines.append(f"The answers about {about or 'the child'}'s behaviour (score "
                     f"{values.get('capd_score')}) have changed from usual "
                     f"({values.get('baseline')}).")
    if "carer_concern" in rules:
        lines.append("You said you are very worried. Your care team will call you back "
                     "today.")
    return lines


@login_required
@require_safe
def check_in_result(request: HttpRequest, check_in_id: int) -> HttpResponse:
    """What to do now, from the row just saved (never from a background task)."""
    check_in = check_in_for(request.user, check_in_id)
    patient = check_in.patient
    record_read(request, patient, "view check-in")
    symptoms = _reported_symptoms(check_in)
    about = None if patient.user_id == request.user.pk else patient.display_name
    advice = []
    if check_in.severity == Severity.GREEN:
        advice = sorted({s["advice"] for s in symptoms if s["advice"] and s["grade"]})
    return render(
        request,
        "symptoms/check_in_result.html",
        {
            "check_in": check_in,
            "patient": patient,
            "symptoms": symptoms,
            "answers": _recorded_answers(check_in, about),
            "plain_findings": _plain_findings(check_in, about),
            "advice": advice,
            "care_line": care_line(patient.care_team),
            "pump_problem": any(f["rule"] == "pump_problem" for f in check_in.findings),
        },
    )


@login_required
@require_safe
def check_in_history(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = access.patient_for(request.user, patient_id)
    record_read(request, patient, "view history")
    # The alert each check-in joined (if any), read through the reverse relation the alerts
    # app declares (Alert.check_ins, related_name "alerts"): one query, no import of it.
    check_ins = (patient.check_ins.select_related("recorded_by").prefetch_related("alerts")
                 .order_by("-recorded_at"))
    page = Paginator(check_ins, 30).get_page(request.GET.get("page"))
    for check_in in page:
        check_in.alert = next(iter(check_in.alerts.all()), None)
    # The chart covers the current cycle (or the last 42 days outside treatment).
    plan = calendar.schedule(patient)
    start, end = cycle_window(patient, plan=plan)
    position = plan.position(end) if plan else None
    chart = temperature_chart(
        patient, window_check_ins(patient, start, end), ruleset_for_patient(patient)
    )
    others = list(access.patients_for(request.user).exclude(pk=patient.pk).order_by(
        "display_name")) if not request.user.is_care_staff else []
    return render(
        request,
        "symptoms/check_in_history.html",
        {
            "patient": patient,
            "page": page,
            "chart": chart,
            "others": others,
            "may_record": access.may_record_check_in(request.user, patient),
            "care_line": care_line(patient.care_team),
            "position": position,
        },
    )
