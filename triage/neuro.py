"""The neurological self-check as data and pure sums: the ICE score and the CAPD.

clinical-rules.md, "The neurological self-check" (version 2). A caregiver answers the
items one by one; the portal adds up the points (nobody types a total), and the total goes
into the check-in as the canonical `ice_score` or `capd_score`, judged by triage.rules like
any other field. Which tool is used depends on the patient's age on the day
(neuro_tool_for_age). No Django import here.

- ICE (Immune effector Cell-associated Encephalopathy score, ASTCT consensus, Lee 2019),
  patients aged 12 or over: ten tasks, one point each (ICE_TASKS), 0-10; ice_total().
- CAPD (Cornell Assessment of Pediatric Delirium, Traube 2014), children under 12: eight
  questions about the last hours, each never / rarely / sometimes / often / always (0-4,
  CAPD_ANSWERS); items 1-4 are scored in reverse (always = 0, never = 4); 0-32;
  capd_total().
- "Cannot be woken or does not respond": one answer that gives the emergency at once
  (UNRESPONSIVE, unresponsive_record, with_unresponsive).

Answers are refused (NeuroAnswersInvalid, a ValueError naming each task or item) when one
is missing, unknown or of the wrong type: a partial check is not a low score. A check
stopped part-way is judged on what is certain from its answers: ice_bound() (the highest
ICE score still reachable) and capd_bound() (the CAPD total already reached).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from triage.catalogue import SYMPTOMS_KEY

NeuroTool = Literal["ice", "capd"]

# clinical-rules.md: "ICE score ... patients aged 12 or over"; "CAPD ... children under 12".
ICE_FROM_AGE = 12


class NeuroAnswersInvalid(ValueError):
    """The answers of a check cannot be added up. `errors` maps each task or item code
    (or "answers" for the whole) to what is wrong."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{code}: {message}" for code, message in self.errors.items()))


# ICE -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NamingObject:
    """An everyday object whose picture the naming task shows: static/neuro/<code>.svg."""

    code: str
    name: str

    @property
    def picture(self) -> str:
        """The static path of its picture, e.g. "neuro/key.svg"."""
        return f"neuro/{self.code}.svg"


# Three objects anyone names in a word, whatever their language at home.
ICE_OBJECTS: tuple[NamingObject, ...] = (
    NamingObject("key", "a key"),
    NamingObject("cup", "a cup"),
    NamingObject("pencil", "a pencil"),
)


@dataclass(frozen=True)
class IceTask:
    """One ICE task: `code` (also the key of its answer), `prompt` (what the caregiver
    reads out or asks), `points` (given when done right; 1 for every task of Lee 2019),
    `picture` (the NamingObject shown, for the naming tasks only)."""

    code: str
    prompt: str
    points: int = 1
    picture: NamingObject | None = None


ICE_TASKS: tuple[IceTask, ...] = (
    # Orientation: 1 point each (4).
    IceTask("year", "Ask: what year is it?"),
    IceTask("month", "Ask: what month is it?"),
    IceTask("city", "Ask: what city are we in?"),
    IceTask("hospital", "Ask: what is the name of the hospital where you are treated?"),
    # Naming three objects shown on the screen: 1 point each (3).
    *(IceTask(f"name_{o.code}", "Show the picture and ask: what is this?", picture=o)
      for o in ICE_OBJECTS),
    # Following a simple command, writing, counting back: 1 point each.
    IceTask("command", 'Say: "show me two fingers", or "close your eyes and stick out '
                       'your tongue". Right if they do it.'),
    IceTask("writing", 'Ask them to write a short standard sentence, such as "The dog sat '
                       'in the sun". Right if it is readable and makes sense.'),
    IceTask("counting", "Ask them to count backwards from 100 in tens (100, 90, 80 ... 10). "
                        "Right if they reach 10 without a mistake."),
)
ICE_TASKS_BY_CODE: Mapping[str, IceTask] = MappingProxyType({t.code: t for t in ICE_TASKS})


def ice_total(answers: Mapping[str, bool]) -> int:
    """The ICE score 0-10 from one answer per task: {task code: True (done right) or
    False (wrong or not done)}.

    Every one of the ten tasks is required (a task not asked is not a wrong answer: the
    caregiver may have stopped). Raises NeuroAnswersInvalid naming each missing or unknown
    task and each answer that is not True or False (1, "yes" are refused, not read).
    Source: clinical-rules.md, "The neurological self-check" (Lee 2019).
    """
    return _ice_sum(answers, whole=True)


# CAPD ----------------------------------------------------------------------------------

# The answer words, their index being the value given (0-4) before reverse scoring.
CAPD_ANSWERS: tuple[str, ...] = ("never", "rarely", "sometimes", "often", "always")
CAPD_ANSWER_MAX = len(CAPD_ANSWERS) - 1


@dataclass(frozen=True)
class CapdItem:
    """One CAPD question about the last hours: `number` 1-8 as in Traube 2014, `code`
    (the key of its answer), `words` (the document's, for the nurse), `reverse` (items
    1-4: a child who "always" does it scores 0), and question() for the caregiver (the
    document's words with the child as subject: item 2 reads "Maya's actions are
    purposeful", which a name put in front of `words` would not)."""

    number: int
    code: str
    words: str
    reverse: bool
    # The question put to the caregiver about the child; {child} is the child's name.
    asked: str = ""

    def question(self, child: str) -> str:
        """The item as a question about `child` (a name, or e.g. "your child"), put to the
        caregiver who answers it: "Maya makes eye contact with you"."""
        return self.asked.format(child=child)


CAPD_ITEMS: tuple[CapdItem, ...] = (
    CapdItem(1, "eye_contact", "makes eye contact with the caregiver", True,
             "{child} makes eye contact with you"),
    CapdItem(2, "purposeful", "actions are purposeful", True,
             "{child}'s actions are purposeful"),
    CapdItem(3, "aware", "is aware of their surroundings", True,
             "{child} is aware of their surroundings"),
    CapdItem(4, "communicates", "communicates needs and wants", True,
             "{child} communicates needs and wants"),
    CapdItem(5, "restless", "is restless", False, "{child} is restless"),
    CapdItem(6, "inconsolable", "is inconsolable", False, "{child} is inconsolable"),
    CapdItem(7, "underactive", "is underactive, very little movement while awake", False,
             "{child} is underactive, with very little movement while awake"),
    CapdItem(8, "slow_to_respond", "takes a long time to respond to interactions", False,
             "{child} takes a long time to respond to interactions"),
)
CAPD_ITEMS_BY_CODE: Mapping[str, CapdItem] = MappingProxyType({i.code: i for i in CAPD_ITEMS})


def capd_points(item: CapdItem, answer: int) -> int:
    """The points one answer (0 never .. 4 always) gives on `item`: as given for items
    5-8, reversed (4 - answer) for items 1-4. Raises ValueError for anything but a whole
    number 0-4 (True is not 1)."""
    if isinstance(answer, bool) or not isinstance(answer, int) or not (
        0 <= answer <= CAPD_ANSWER_MAX
    ):
        raise ValueError(f"a CAPD answer is a whole number 0 ({CAPD_ANSWERS[0]}) to "
                         f"{CAPD_ANSWER_MAX} ({CAPD_ANSWERS[-1]})")
    return CAPD_ANSWER_MAX - answer if item.reverse else answer


def capd_total(answers: Mapping[str, int]) -> int:
    """The CAPD total 0-32 from one answer per item: {item code: 0 never .. 4 always}.

    Items 1-4 are scored in reverse (capd_points). All eight items are required; raises
    NeuroAnswersInvalid naming each missing or unknown item and each answer that is not a
    whole number 0-4. Source: clinical-rules.md, "The neurological self-check" (Traube
    2014).
    """
    return _capd_sum(answers, whole=True)


# A check stopped part-way ----------------------------------------------------------------


def ice_bound(answers: Mapping[str, bool]) -> int:
    """The highest ICE score 0-10 a check stopped part-way could still reach: the points
    of the tasks answered right plus the points of every task not answered.

    `answers` maps some task codes to True (right) or False (wrong); missing tasks are
    allowed. A lower ICE score is worse, so this is the least severe total consistent with
    the answers: a rule judging it fires only if it would fire whatever the missing
    answers are (two wrong -> at most 8 -> neuro_ice is certain). Raises
    NeuroAnswersInvalid for an unknown task or an answer that is not True or False.
    Source: clinical-rules.md, "The neurological self-check" (Lee 2019); a partial check
    is saved, never refused (the check-in "is always saved, graded and alerted").
    """
    return _ice_sum(answers, whole=False)


def capd_bound(answers: Mapping[str, int]) -> int:
    """The lowest CAPD total 0-32 a check stopped part-way has already reached: the points
    of the items answered; an item not answered counts 0 (its least-scoring answer:
    "always" for the reversed items 1-4, "never" for items 5-8).

    `answers` maps some item codes to 0 (never) .. 4 (always); missing items are allowed.
    A higher CAPD is worse, so this is the least severe total consistent with the answers
    (the first three items "never" -> at least 12 -> neuro_capd is certain). Raises
    NeuroAnswersInvalid for an unknown item or an answer that is not a whole number 0-4.
    Source: clinical-rules.md, "The neurological self-check" (Traube 2014).
    """
    return _capd_sum(answers, whole=False)


def _ice_sum(answers: Mapping[str, bool], *, whole: bool) -> int:
    # A task not answered counts as right: only reached when `whole` is False (ice_bound).
    errors = (_unknown_and_missing if whole else _unknown)(answers, ICE_TASKS_BY_CODE, "task")
    for task in ICE_TASKS:
        if task.code in answers and not isinstance(answers[task.code], bool):
            errors[task.code] = "the answer must be true (right) or false (wrong)"
    if errors:
        raise NeuroAnswersInvalid(errors)
    return sum(task.points for task in ICE_TASKS if answers.get(task.code, True) is True)


def _capd_sum(answers: Mapping[str, int], *, whole: bool) -> int:
    # An item not answered counts 0: only reached when `whole` is False (capd_bound).
    errors = (_unknown_and_missing if whole else _unknown)(answers, CAPD_ITEMS_BY_CODE, "item")
    total = 0
    for item in CAPD_ITEMS:
        if item.code in answers:
            try:
                total += capd_points(item, answers[item.code])
            except ValueError as refused:
                errors[item.code] = str(refused)
    if errors:
        raise NeuroAnswersInvalid(errors)
    return total


def _unknown(answers: object, known: Mapping[str, object], kind: str) -> dict[str, str]:
    if not isinstance(answers, Mapping):
        raise NeuroAnswersInvalid({"answers": f"must map each {kind} code to its answer"})
    return {str(code)[:40]: f"unknown {kind}; the {kind}s are " + ", ".join(known)
            for code in answers if code not in known}


def _unknown_and_missing(
    answers: object, known: Mapping[str, object], kind: str
) -> dict[str, str]:
    errors = _unknown(answers, known, kind)
    for code in known:
        if code not in answers:
            errors[code] = f"not answered; every {kind} is needed for a total"
    return errors


# The age rule and "cannot be woken" ----------------------------------------------------


def neuro_tool_for_age(age_years: int) -> NeuroTool:
    """"ice" for a patient aged 12 or over on the day, "capd" under 12.

    `age_years`: completed years on the day of the check. Raises ValueError for a
    negative or non-whole age. Source: clinical-rules.md, "The neurological self-check".
    """
    if isinstance(age_years, bool) or not isinstance(age_years, int) or age_years < 0:
        raise ValueError(f"age must be a whole number of years, 0 or more, not {age_years!r}")
    return "ice" if age_years >= ICE_FROM_AGE else "capd"


# "Cannot be woken or does not respond", reduced to the canonical vocabulary:
# - drowsiness 4 ("very severe: hard to wake"), which v2 makes red and an emergency, so
#   the result is the emergency whichever tool was chosen;
# - for ICE, ice_score 0 (the document: "the score is 0"), which also fires neuro_ice and
#   neuro_ice_severe;
# - for CAPD, no capd_score: the eight questions were not asked, and a total made up of
#   guessed answers would be a number nobody measured.
UNRESPONSIVE_DROWSINESS = 4
UNRESPONSIVE: Mapping[str, Mapping[str, object]] = MappingProxyType({
    "ice": MappingProxyType({SYMPTOMS_KEY: MappingProxyType({"drowsiness": 4}),
                             "ice_score": 0}),
    "capd": MappingProxyType({SYMPTOMS_KEY: MappingProxyType({"drowsiness": 4})}),
})


def unresponsive_record(tool: NeuroTool) -> dict[str, object]:
    """The canonical fields for "cannot be woken or does not respond" with `tool`, as a
    new plain dict parse_check_in() accepts: {"symptoms": {"drowsiness": 4},
    "ice_score": 0} for "ice", {"symptoms": {"drowsiness": 4}} for "capd". Raises
    ValueError for another tool. To add it to other answers, use with_unresponsive(),
    which keeps their symptoms."""
    if tool not in UNRESPONSIVE:
        raise ValueError(f"unknown neuro tool {tool!r}; give ice or capd")
    return {
        key: dict(value) if isinstance(value, Mapping) else value
        for key, value in UNRESPONSIVE[tool].items()
    }


def with_unresponsive(record: Mapping[str, object], tool: NeuroTool) -> dict[str, object]:
    """`record` (canonical fields, e.g. the rest of the page) with "cannot be woken" added.

    A shallow {**record, **unresponsive_record(tool)} would replace the whole symptom map
    and lose a seizure reported beside it; here the other symptoms are kept, drowsiness
    becomes 4 (the highest grade, so never lower than what was given), `ice_score`
    becomes 0 for ICE, and any `capd_score` is dropped for CAPD (not measured). Nothing
    in `record` is validated: parse_check_in() does that on the result.
    """
    merged = {k: v for k, v in record.items() if not (tool == "capd" and k == "capd_score")}
    reduction = unresponsive_record(tool)
    given = record.get(SYMPTOMS_KEY)
    symptoms = dict(given) if isinstance(given, Mapping) else {}
    symptoms.update(reduction.pop(SYMPTOMS_KEY))  # type: ignore[call-overload]
    merged.update(reduction)
    merged[SYMPTOMS_KEY] = symptoms
    return merged
