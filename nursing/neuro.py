"""The nurse's reading of a check-in's neurological self-check and of the carer's worry.

clinical-rules.md "The neurological self-check" and "The carer's worry": the nurse sees the
tool, the total, the patient's baseline in force when the check-in was judged (from the
rule-set snapshot stored on the check-in, never today's value) and every item answer in
words: which ICE tasks were missed, each CAPD answer with the points it gave (items 1-4 are
scored in reverse, so "never" makes eye contact gives 4 points, the worst). Nothing here
scores anything: the totals are the stored ones (triage.neuro added them up once) and the
item words and reverse flags are triage.neuro's. Reads only what the check-in row holds:
no query.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from triage import neuro
from triage.catalogue import CAPD_MAX, CAPD_RISE_POINTS, ICE_MAX, WORRY_LABELS

# The ICE tasks as a nurse names them (triage.neuro's prompts are what the caregiver reads
# out, and the three naming tasks share one prompt). A task not listed here (a newer one)
# is shown by its prompt.
ICE_TASK_WORDS = {
    "year": "the year",
    "month": "the month",
    "city": "the city",
    "hospital": "the hospital",
    "command": "following a command",
    "writing": "writing a sentence",
    "counting": "counting back from 100 in tens",
}


def ice_task_words(task: neuro.IceTask) -> str:
    """"the year", "naming a key": an ICE task in the nurse's words."""
    if task.picture is not None:
        return f"naming {task.picture.name}"
    return ICE_TASK_WORDS.get(task.code, task.prompt)


@dataclass(frozen=True)
class NeuroItem:
    """One item as answered: its words, the answer in words, the points it gave, and
    `concern` when it counts against the patient (an ICE task missed; a CAPD item giving
    any points). `reverse` marks CAPD items 1-4 (scored in reverse)."""

    words: str
    answer: str
    points: int | None
    concern: bool
    reverse: bool = False


@dataclass(frozen=True)
class NeuroCheck:
    """A check-in's neurological self-check for the nurse.

    `tool` "ice" or "capd"; `total` the stored score (ICE 0-10, CAPD 0-32; None if the
    family stopped at "cannot be woken" on a CAPD); `baseline` the patient's baseline in
    force then (None if the snapshot has none: a check-in judged before version 2);
    `beyond_baseline` True when the total is on the wrong side of it (ICE below, CAPD 3 or
    more above); `unresponsive` the one-tap "cannot be woken or does not respond";
    `missed` the ICE tasks missed, in words; `items` every item as answered, empty when
    the total came without its items (the `triage` command, an API); `answered` how many
    items were answered and `incomplete` True when the family stopped part-way (the total
    is then a bound: ICE at most, CAPD at least; triage.neuro.ice_bound / capd_bound);
    `badge` the neuro finding stored on the check-in, in words ("" if none fired).
    """

    tool: str
    name: str
    total: int | None
    maximum: int
    baseline: int | None
    beyond_baseline: bool
    unresponsive: bool
    missed: tuple[str, ...]
    items: tuple[NeuroItem, ...]
    answered: int = 0
    incomplete: bool = False
    badge: str = ""

    @property
    def summary(self) -> str:
        """One line: "ICE score 7 of 10 (baseline 10)"; for a check stopped part-way
        "ICE score incomplete: 6 of 10 answered, score at most 8 (baseline 10)"."""
        score = "not scored" if self.total is None else f"{self.total} of {self.maximum}"
        if self.incomplete and self.total is not None:
            bound = "at most" if self.tool == "ice" else "at least"
            score = (f"incomplete: {self.answered} of {len(self.items)} answered, "
                     f"score {bound} {self.total}")
        baseline = ("baseline not recorded" if self.baseline is None
                    else f"baseline {self.baseline}")
        return f"{self.name} {score} ({baseline})"


def _baseline(check_in, key: str) -> int | None:
    snapshot = check_in.ruleset if isinstance(check_in.ruleset, dict) else {}
    value = snapshot.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ice(check_in, answers: dict, unresponsive: bool) -> NeuroCheck:
    items, missed = [], []
    for task in neuro.ICE_TASKS:
        words = ice_task_words(task)
        answer = answers.get(task.code)
        if not isinstance(answer, bool):
            items.append(NeuroItem(words, "not asked" if unresponsive else "no answer",
                                   None, unresponsive))
            continue
        if not answer:
            missed.append(words)
        items.append(NeuroItem(words, "right" if answer else "missed",
                               task.points if answer else 0, not answer))
    baseline = _baseline(check_in, "ice_baseline")
    total = check_in.ice_score
    return NeuroCheck(
        tool="ice", name="ICE score", total=total, maximum=ICE_MAX,
        baseline=baseline,
        beyond_baseline=total is not None and baseline is not None and total < baseline,
        unresponsive=unresponsive, missed=tuple(missed), items=tuple(items),
    )


def _capd(check_in, answers: dict, unresponsive: bool) -> NeuroCheck:
    items = []
    for item in neuro.CAPD_ITEMS:
        answer = answers.get(item.code)
        if isinstance(answer, bool) or not isinstance(answer, int) or not (
            0 <= answer < len(neuro.CAPD_ANSWERS)
        ):
            items.append(NeuroItem(f"{item.number}. {item.words}",
                                   "not asked" if unresponsive else "no answer",
                                   None, unresponsive, item.reverse))
            continue
        points = neuro.capd_points(item, answer)
        items.append(NeuroItem(f"{item.number}. {item.words}", neuro.CAPD_ANSWERS[answer],
                               points, points > 0, item.reverse))
    baseline = _baseline(check_in, "capd_baseline")
    total = check_in.capd_score
    return NeuroCheck(
        tool="capd", name="CAPD", total=total, maximum=CAPD_MAX, baseline=baseline,
        beyond_baseline=(total is not None and baseline is not None
                         and total >= baseline + CAPD_RISE_POINTS),
        unresponsive=unresponsive, missed=(), items=tuple(items),
    )


def neuro_check(check_in) -> NeuroCheck | None:
    """The check-in's neurological self-check in the nurse's words, or None when the
    check-in holds none (`neuro_tool` empty). `check_in` is a symptoms CheckIn."""
    tool = check_in.neuro_tool
    if tool not in ("ice", "capd"):
        return None
    stored = check_in.neuro_items if isinstance(check_in.neuro_items, dict) else {}
    answers = stored.get("answers") if isinstance(stored.get("answers"), dict) else {}
    unresponsive = stored.get("unresponsive") is True
    check = (_ice if tool == "ice" else _capd)(check_in, answers, unresponsive)
    check = replace(check, answered=sum(1 for item in check.items if item.points is not None),
                    incomplete=stored.get("incomplete") is True,
                    badge=_finding_badge(check_in))
    if not answers and not unresponsive:
        # A total given without its items: say so rather than list ten "no answer"s.
        check = replace(check, items=(), missed=())
    return check


# The neuro findings as the nurse's badge, the most severe first (clinical-rules.md, "The
# neurological self-check"): read from the findings stored with the check-in, so the badge
# is what the rules decided then, never a re-computation against today's baseline.
FINDING_BADGES = (
    ("neuro_ice_severe", "2 or less: emergency"),
    ("neuro_ice", "below baseline"),
    ("neuro_capd", "9 or more: possible delirium"),
    ("neuro_capd_rise", "3 or more above baseline"),
)


def _finding_badge(check_in) -> str:
    findings = check_in.findings if isinstance(check_in.findings, list) else []
    fired = {f.get("rule") for f in findings if isinstance(f, dict)}
    return next((words for rule, words in FINDING_BADGES if rule in fired), "")


def worry_words(worry: int | None) -> str | None:
    """The carer's worry (0-3) in the check-in's words ("very"), None if not answered."""
    if worry is None:
        return None
    return WORRY_LABELS.get(worry, str(worry))
