"""The vocabulary of clinical-rules.md (rule set v2) as data.

Forms, the API, exports, the `triage` command and the rule engine all read from here, so
a grade, a threshold or a patient-facing word is written down once. Nothing in this
module imports Django: the rule engine and its tests run without a database.

When clinical-rules.md changes, change this file, bump RULES_VERSION, and let the tests
in tests/symptoms (which transcribe the document independently) say what else moved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

# Stored with every result. A check-in judged under v1 keeps its "v1" (nothing here or in
# triage ever rewrites a stored result; clinical-rules.md, "Version 2").
RULES_VERSION = "v2"

# Keys shared by every parser and error map: the check-in's symptom grades, and errors
# about the check-in (or rule set) as a whole (Django forms use the same name).
SYMPTOMS_KEY = "symptoms"
NON_FIELD = "__all__"

# The one definition of the severities, mildest first; the models' `Severity` choices
# (symptoms.models) are built from it.
SeverityLevel = Literal["green", "amber", "red"]
SEVERITIES: tuple[SeverityLevel, ...] = ("green", "amber", "red")
# Rank for "the overall severity is the highest of its findings".
SEVERITY_RANK: Mapping[str, int] = MappingProxyType({s: i for i, s in enumerate(SEVERITIES)})

# PRO-CTCAE five-point scale.
GRADE_LABELS: Mapping[int, str] = MappingProxyType(
    {0: "none", 1: "mild", 2: "moderate", 3: "severe", 4: "very severe"}
)
MIN_GRADE = 0
MAX_GRADE = 4


@dataclass(frozen=True)
class SymptomGroup:
    code: str
    title: str


SYMPTOM_GROUPS: tuple[SymptomGroup, ...] = (
    SymptomGroup("fever", "Infection and fever"),
    SymptomGroup("breathing", "Breathing"),
    SymptomGroup("head", "Head and nerves"),
    SymptomGroup("stomach", "Stomach and bowels"),
    SymptomGroup("bleeding", "Bleeding and bruising"),
    SymptomGroup("heart", "Heart and limbs"),
    SymptomGroup("line", "The line and the pump"),
)
SYMPTOM_GROUPS_BY_CODE: Mapping[str, SymptomGroup] = MappingProxyType(
    {g.code: g for g in SYMPTOM_GROUPS}
)


@dataclass(frozen=True)
class Symptom:
    """One row of the symptom table.

    `amber` None is the document's "-": any grade of 1 or more is red.
    `label` is the short name a nurse reads; `words` is what the patient is asked about.
    `advice` is shown to the patient only with a green result.
    """

    code: str
    label: str
    words: str
    amber: int | None
    red: int
    emergency: int | None
    group: str
    advice: str = ""


# Self-care advice is deliberately generic and never replaces a call: the green page
# always also says to call if things get worse. Painkiller advice warns that paracetamol
# can hide a fever, which the rules care about (temperature_masked).
_PAINKILLER_ADVICE = (
    "Rest and drink plenty of fluids. Only take painkillers your care team has said you "
    "can use, and take your temperature first: paracetamol can hide a fever."
)

SYMPTOMS: tuple[Symptom, ...] = (
    Symptom("chills", "Chills", "shivering, chills or shaking", None, 1, None, "fever"),
    Symptom("headache", "Headache", "headache", 2, 3, None, "head", _PAINKILLER_ADVICE),
    Symptom("rash", "Rash", "skin rash", 2, 3, None, "fever"),
    Symptom(
        "muscle_joint_pain", "Muscle or joint pain", "aching muscles or joints",
        2, 3, None, "fever", _PAINKILLER_ADVICE,
    ),
    Symptom("back_bone_pain", "Back or bone pain", "back or bone pain", 2, 3, None, "fever"),
    Symptom(
        "swelling_face_mouth", "Swelling of face, lips or mouth",
        "swelling of the face, lips or mouth", None, 1, 3, "breathing",
    ),
    Symptom("breathlessness", "Breathlessness", "short of breath", 2, 3, 4, "breathing"),
    Symptom("cough", "Cough", "cough", 2, 3, None, "breathing"),
    Symptom("dizziness", "Dizziness", "dizzy or light-headed", 1, 2, None, "head"),
    Symptom("confusion", "Confusion", "confused, muddled, not yourself", None, 1, None, "head"),
    Symptom(
        "hallucinations", "Hallucinations", "seeing or hearing things that are not there",
        None, 1, None, "head",
    ),
    Symptom(
        "speech_difficulty", "Speech difficulty", "trouble speaking or finding words",
        None, 1, None, "head",
    ),
    Symptom("seizure", "Seizure", "a fit or seizure", None, 1, 1, "head"),
    # v2: grade 4 ("very severe: hard to wake") is an emergency (clinical-rules.md,
    # "The neurological self-check").
    Symptom("drowsiness", "Drowsiness", "unusually sleepy, hard to wake", 1, 2, 4, "head"),
    Symptom("tremor", "Tremor", "shaking hands (tremor)", 1, 2, None, "head"),
    Symptom("unsteadiness", "Unsteadiness", "unsteady on your feet", 1, 2, None, "head"),
    Symptom(
        "nausea", "Nausea", "feeling sick", 2, 3, None, "stomach",
        "Eat small, plain meals and drink small amounts often. Take any anti-sickness "
        "medicine your care team prescribed, as they told you.",
    ),
    Symptom("abdominal_pain", "Abdominal pain", "tummy pain", 2, 3, None, "stomach"),
    Symptom(
        "constipation", "Constipation", "constipation", 2, 3, None, "stomach",
        "Drink plenty of fluids and keep gently active if you can. Do not use laxatives or "
        "suppositories unless your care team has said you can.",
    ),
    Symptom(
        "bleeding", "Bleeding", "bleeding (nose, gums, urine, stools)", None, 1, 3, "bleeding",
    ),
    Symptom(
        "bruising", "Bruising or spots", "new bruising or tiny red/purple spots",
        None, 1, None, "bleeding",
    ),
    Symptom("fast_heartbeat", "Palpitations", "heart racing or pounding", 1, 2, None, "heart"),
    Symptom("chest_pain", "Chest pain", "chest pain", None, 1, 3, "heart"),
    Symptom(
        "painful_swollen_limb", "Painful, swollen limb", "a painful, red or swollen arm or leg",
        None, 1, None, "heart",
    ),
    Symptom(
        "line_site_problem", "Line site problem",
        "redness, swelling, pain or leaking where the line goes in", 1, 2, None, "line",
    ),
    Symptom(
        "fatigue", "Fatigue", "tiredness", 3, 4, None, "fever",
        "Rest when you need to and pace yourself through the day; short spells of gentle "
        "activity can help. Tiredness is common during this treatment.",
    ),
)
SYMPTOMS_BY_CODE: Mapping[str, Symptom] = MappingProxyType({s.code: s for s in SYMPTOMS})
SYMPTOM_CODES: tuple[str, ...] = tuple(s.code for s in SYMPTOMS)


def symptoms_in_group(group: str) -> tuple[Symptom, ...]:
    """The symptoms of one patient-facing group, in the order of the table."""
    return tuple(s for s in SYMPTOMS if s.group == group)


@dataclass(frozen=True)
class PumpState:
    code: str
    words: str
    is_problem: bool


PUMP_STATES: tuple[PumpState, ...] = (
    PumpState("running", "running normally", False),
    PumpState("alarm", "the pump alarm is sounding", True),
    PumpState("stopped", "the pump has stopped", True),
    PumpState("leaking", "the pump or line is leaking, or the line is wet", True),
    PumpState("disconnected", "the line has come apart or is disconnected", True),
    PumpState("not_connected", "no pump: I am on a treatment break", False),
)
PUMP_STATES_BY_CODE: Mapping[str, PumpState] = MappingProxyType(
    {p.code: p for p in PUMP_STATES}
)
PUMP_PROBLEM_STATES: frozenset[str] = frozenset(p.code for p in PUMP_STATES if p.is_problem)

# The neurological self-check and the carer's worry (clinical-rules.md, "Version 2"). The
# points and cut-offs are the document's, not settings: only the baselines are thresholds.
ICE_MAX = 10  # ICE score 0-10 (Lee 2019)
ICE_SEVERE_AT_MOST = 2  # neuro_ice_severe: ICE score 2 or less, red and emergency
CAPD_MAX = 32  # CAPD 0-32 (Traube 2014)
CAPD_DELIRIUM_AT = 9  # neuro_capd: CAPD 9 or more, red
CAPD_RISE_POINTS = 3  # neuro_capd_rise: 3 or more above the child's baseline (below 9), amber
WORRY_LABELS: Mapping[int, str] = MappingProxyType(
    {0: "not at all", 1: "a little", 2: "quite", 3: "very"}
)
WORRY_CONCERN_AT = 3  # carer_concern: worry 3 ("very"), amber

FieldKind = Literal["datetime", "decimal", "bool", "int", "choice", "text"]


@dataclass(frozen=True)
class Field:
    """A non-symptom field of the check-in vocabulary and what it accepts.

    `minimum`/`maximum` are inclusive. Temperatures are Decimal, counts are int.
    """

    name: str
    kind: FieldKind
    label: str
    unit: str = ""
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()


FIELDS: tuple[Field, ...] = (
    Field("recorded_at", "datetime", "When the reading was taken"),
    Field("temperature_c", "decimal", "Temperature", "°C", Decimal("30.0"), Decimal("45.0")),
    Field("temperature_f", "decimal", "Temperature", "°F", Decimal("86.0"), Decimal("113.0")),
    Field("antipyretic_last_6h", "bool", "Paracetamol, ibuprofen or steroids in the last 6 h"),
    Field("feels_suddenly_unwell", "bool", "Suddenly feels unwell"),
    Field("stools_above_baseline", "int", "Stools above normal in 24 h", "", 0, 50),
    Field("diarrhoea_with_blood", "bool", "Blood in diarrhoea"),
    Field("vomiting_episodes_24h", "int", "Vomiting episodes in 24 h", "", 0, 50),
    Field("unable_to_keep_fluids", "bool", "Unable to keep fluids down"),
    Field("pump", "choice", "Pump", choices=tuple(p.code for p in PUMP_STATES)),
    Field("spo2", "int", "Oxygen saturation", "%", 50, 100),
    Field("systolic_bp", "int", "Systolic blood pressure", "mmHg", 40, 250),
    Field("heart_rate", "int", "Heart rate", "bpm", 20, 250),
    # v2, "The neurological self-check": totals added up by triage.neuro, never typed.
    Field("ice_score", "int", "ICE score", "", 0, ICE_MAX),
    Field("capd_score", "int", "CAPD score", "", 0, CAPD_MAX),
    # v2, "The carer's worry": 0 not at all .. 3 very (WORRY_LABELS).
    Field("worry", "int", "How worried the family is today", "", 0, 3),
    Field("notes", "text", "Notes", max_length=2000),
)
FIELDS_BY_NAME: Mapping[str, Field] = MappingProxyType({f.name: f for f in FIELDS})

# Temperatures are kept to one decimal, rounded half up.
TEMPERATURE_QUANTUM = Decimal("0.1")


@dataclass(frozen=True)
class Thresholds:
    """The numeric thresholds of the rules on the non-symptom fields.

    `*_below` thresholds fire when the reading is strictly below them; `*_amber`/`*_red`
    counts fire at or above them (clinical-rules.md, "Rules on the other fields").
    """

    fever_high_c: Decimal = Decimal("37.5")
    temp_low_c: Decimal = Decimal("36.0")
    masked_low_c: Decimal = Decimal("37.0")
    diarrhoea_amber: int = 4
    diarrhoea_red: int = 7
    vomiting_amber: int = 2
    vomiting_red: int = 6
    spo2_amber_below: int = 95
    spo2_red_below: int = 92
    spo2_emergency_below: int = 90
    bp_low_below: int = 90
    worsening_grades: int = 2
    worsening_window_hours: int = 72
    # v2. Baselines: the patient's usual score when well ("The neurological self-check").
    ice_baseline: int = 10
    capd_baseline: int = 0
    # v2, "Treatment calendar and bag changes": minutes after a bag change was due.
    bag_overdue_amber_minutes: int = 60
    bag_overdue_red_minutes: int = 180


DEFAULT_THRESHOLDS = Thresholds()

Stricter = Literal["lower", "higher", "either"]


@dataclass(frozen=True)
class OverrideLimit:
    """How far a care team or a clinician may move one numeric threshold.

    `stricter` says which way tightens the rule. The default is one end of the range for
    a one-way threshold, so a threshold can be tightened but never loosened past the
    default; fever_high_c is the exception the document allows (37.0 to 38.0 °C).
    The far end of each range is a judgement that keeps the rule meaningful (a low-
    temperature threshold at 37.5 °C would call every patient hypothermic).

    `loosening_allowed` marks the other exception (v2): the ICE and CAPD baselines, whose
    default is the STRICT end; the document lets a nurse move them the loose way, with a
    reason, for a patient who cannot score 10 (or 0) when well. Their far end is where
    the rule would stop meaning anything, and `why` says so in the refusal.
    """

    minimum: Decimal | int
    maximum: Decimal | int
    stricter: Stricter
    loosening_allowed: bool = False
    why: str = ""


OVERRIDE_LIMITS: Mapping[str, OverrideLimit] = MappingProxyType({
    "fever_high_c": OverrideLimit(Decimal("37.0"), Decimal("38.0"), "lower"),
    "temp_low_c": OverrideLimit(Decimal("36.0"), Decimal("36.9"), "higher"),
    "masked_low_c": OverrideLimit(Decimal("36.0"), Decimal("37.0"), "lower"),
    "diarrhoea_amber": OverrideLimit(1, 4, "lower"),
    "diarrhoea_red": OverrideLimit(1, 7, "lower"),
    "vomiting_amber": OverrideLimit(1, 2, "lower"),
    "vomiting_red": OverrideLimit(1, 6, "lower"),
    "spo2_amber_below": OverrideLimit(95, 100, "higher"),
    "spo2_red_below": OverrideLimit(92, 100, "higher"),
    "spo2_emergency_below": OverrideLimit(90, 100, "higher"),
    "bp_low_below": OverrideLimit(90, 140, "higher"),
    "worsening_grades": OverrideLimit(1, 2, "lower"),
    "worsening_window_hours": OverrideLimit(72, 168, "higher"),
    # At baseline 3, a score of 3 (the patient's usual) is green and 2 or less is still red
    # and an emergency (neuro_ice_severe), so neuro_ice never goes quiet below that.
    "ice_baseline": OverrideLimit(
        3, ICE_MAX, "higher", loosening_allowed=True,
        why="below 3 the baseline would say nothing: an ICE score of 2 or less is an "
            "emergency whatever the baseline",
    ),
    # At baseline 5, neuro_capd_rise still fires at 8; from 6 up it never could (baseline
    # + 3 would reach 9, where neuro_capd is red anyway), so the amber rule would be
    # removed without anyone saying so.
    "capd_baseline": OverrideLimit(
        0, CAPD_DELIRIUM_AT - CAPD_RISE_POINTS - 1, "lower",
        loosening_allowed=True,
        why="above 5 the rise of 3 points (amber) could never fire before 9, which is red",
    ),
    # Only earlier. Red stays at most 180 minutes: an interruption of 4 h or more may need
    # the infusion restarted in hospital, and the team needs time to act before then.
    # Amber no earlier than 15 minutes: a change done on time is often recorded a few
    # minutes late.
    "bag_overdue_amber_minutes": OverrideLimit(15, 60, "lower"),
    "bag_overdue_red_minutes": OverrideLimit(30, 180, "lower"),
})


@dataclass(frozen=True)
class RuleInfo:
    """A rule code that can appear in a finding or an alert, other than a symptom code."""

    code: str
    title: str
    severity: str  # the severity it gives, as the document states it


RULES: tuple[RuleInfo, ...] = (
    RuleInfo("temperature_high", "Temperature at or above the fever threshold", "red"),
    RuleInfo("temperature_low", "Temperature below the low threshold", "red"),
    RuleInfo("temperature_masked", "Borderline temperature after an antipyretic", "amber"),
    RuleInfo("feels_unwell", "Suddenly feels unwell", "red"),
    RuleInfo("diarrhoea", "Stools above baseline", "amber / red"),
    RuleInfo("diarrhoea_blood", "Diarrhoea with blood", "red"),
    RuleInfo("vomiting", "Vomiting episodes", "amber / red"),
    RuleInfo("fluids", "Unable to keep fluids down", "red"),
    RuleInfo("pump_problem", "Pump problem", "red"),
    RuleInfo("spo2_low", "Low oxygen saturation", "amber / red"),
    RuleInfo("bp_low", "Low systolic blood pressure", "red"),
    RuleInfo("multiple_amber", "Two or more amber findings", "red"),
    RuleInfo("worsening", "Symptom worse than the previous check-in", "amber / red"),
    # v2: the neurological self-check and the carer's worry.
    RuleInfo("neuro_ice", "ICE score below the patient's baseline", "red"),
    RuleInfo("neuro_ice_severe", "ICE score 2 or less", "red, emergency"),
    RuleInfo("neuro_capd", "CAPD score 9 or more", "red"),
    RuleInfo("neuro_capd_rise", "CAPD score 3 or more above the child's baseline", "amber"),
    RuleInfo("carer_concern", "The family is very worried", "amber"),
    # Time-based: raised by the missed check-in sweep, never by rules.evaluate().
    RuleInfo("missed_check_in", "No check-in by the daily cut-off", "amber"),
    # Time-based (v2): raised by a sweep through rules.bag_change_overdue().
    RuleInfo("bag_change_overdue", "Bag change overdue", "amber / red"),
)
RULES_BY_CODE: Mapping[str, RuleInfo] = MappingProxyType({r.code: r for r in RULES})
# Every code a finding or alert may carry: the field and cross rules, then each symptom.
RULE_CODES: tuple[str, ...] = tuple(r.code for r in RULES) + SYMPTOM_CODES
