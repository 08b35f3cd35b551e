"""triage.neuro: the ICE and CAPD items and their sums, the age rule and "cannot be woken".

The item lists below are transcribed from clinical-rules.md ("The neurological
self-check"), on purpose not read from triage.neuro: a wrong word or a wrong reverse flag
there must fail here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from triage import neuro
from triage.rules import RuleSet, evaluate
from triage.validation import parse_check_in

# CAPD: number, the document's words, scored in reverse (items 1-4).
SPEC_CAPD = [
    (1, "makes eye contact with the caregiver", True),
    (2, "actions are purposeful", True),
    (3, "is aware of their surroundings", True),
    (4, "communicates needs and wants", True),
    (5, "is restless", False),
    (6, "is inconsolable", False),
    (7, "is underactive, very little movement while awake", False),
    (8, "takes a long time to respond to interactions", False),
]
SPEC_ANSWERS = ["never", "rarely", "sometimes", "often", "always"]  # 0-4 as given
STATIC = Path(__file__).resolve().parents[2] / "static"


def all_right() -> dict[str, bool]:
    return {task.code: True for task in neuro.ICE_TASKS}


def capd_answers(default: int, **given: int) -> dict[str, int]:
    return {item.code: given.get(item.code, default) for item in neuro.CAPD_ITEMS}


# ICE -----------------------------------------------------------------------------------


def test_ice_has_the_ten_one_point_tasks_of_the_document():
    # Orientation 4 (year, month, city, hospital), naming 3, command 1, writing 1,
    # counting back 1: ten tasks, one point each.
    assert len(neuro.ICE_TASKS) == 10
    assert [t.points for t in neuro.ICE_TASKS] == [1] * 10
    assert [t.code for t in neuro.ICE_TASKS[:4]] == ["year", "month", "city", "hospital"]
    assert [t.code for t in neuro.ICE_TASKS[7:]] == ["command", "writing", "counting"]


def test_ice_tasks_have_unique_codes_and_a_prompt_for_the_caregiver():
    codes = [t.code for t in neuro.ICE_TASKS]

    assert len(set(codes)) == len(codes)
    assert all(t.prompt.strip() for t in neuro.ICE_TASKS)


def test_the_naming_tasks_show_three_different_everyday_objects_with_pictures():
    naming = [t for t in neuro.ICE_TASKS if t.picture is not None]

    assert len(naming) == 3
    assert len({t.picture.code for t in naming}) == 3
    assert [t.picture for t in naming] == list(neuro.ICE_OBJECTS)
    for obj in neuro.ICE_OBJECTS:
        assert obj.picture == f"neuro/{obj.code}.svg"
        assert obj.name


def test_the_pictures_of_the_naming_tasks_ship_with_the_project():
    missing = [o.picture for o in neuro.ICE_OBJECTS if not (STATIC / o.picture).is_file()]

    assert missing == []


def test_ice_total_of_all_right_is_10_and_of_all_wrong_is_0():
    assert neuro.ice_total(all_right()) == 10
    assert neuro.ice_total(dict.fromkeys(all_right(), False)) == 0


@pytest.mark.parametrize("wrong", range(11))
def test_ice_total_counts_one_point_per_task_done_right(wrong):
    answers = all_right()
    for task in neuro.ICE_TASKS[:wrong]:
        answers[task.code] = False

    assert neuro.ice_total(answers) == 10 - wrong


@pytest.mark.parametrize("task", [t.code for t in neuro.ICE_TASKS])
def test_ice_total_refuses_a_missing_task_naming_it(task):
    answers = all_right()
    del answers[task]

    with pytest.raises(neuro.NeuroAnswersInvalid) as refused:
        neuro.ice_total(answers)

    assert list(refused.value.errors) == [task]
    assert task in str(refused.value)


@pytest.mark.parametrize("answer", [1, 0, "yes", None, "true"])
def test_ice_total_refuses_an_answer_that_is_not_true_or_false(answer):
    answers = {**all_right(), "city": answer}

    with pytest.raises(neuro.NeuroAnswersInvalid) as refused:
        neuro.ice_total(answers)

    assert "city" in refused.value.errors


def test_ice_total_refuses_an_unknown_task_and_what_is_not_a_mapping():
    with pytest.raises(neuro.NeuroAnswersInvalid) as refused:
        neuro.ice_total({**all_right(), "weekday": True})
    assert "weekday" in refused.value.errors

    with pytest.raises(ValueError, match="answers"):
        neuro.ice_total([True] * 10)  # type: ignore[arg-type]


# CAPD ----------------------------------------------------------------------------------


def test_capd_items_are_the_documents_eight_in_order_with_items_1_to_4_reversed():
    assert [(i.number, i.words, i.reverse) for i in neuro.CAPD_ITEMS] == SPEC_CAPD
    assert len({i.code for i in neuro.CAPD_ITEMS}) == 8


def test_capd_questions_for_the_caregiver_name_the_child_and_keep_the_items_meaning():
    questions = [i.question("Maya") for i in neuro.CAPD_ITEMS]

    assert questions[0] == "Maya makes eye contact with you"
    assert questions[1] == "Maya's actions are purposeful"
    assert questions[4] == "Maya is restless"
    # The document's key words of each item, in order, are in the question.
    keys = ["eye contact", "purposeful", "aware", "communicates", "restless", "inconsolable",
            "underactive", "long time to respond"]
    for question, key in zip(questions, keys, strict=True):
        assert question.startswith("Maya")
        assert key in question


def test_capd_answer_words_are_never_to_always():
    assert list(neuro.CAPD_ANSWERS) == SPEC_ANSWERS


@pytest.mark.parametrize(("answer", "given", "reversed_"), [
    (0, 0, 4), (1, 1, 3), (2, 2, 2), (3, 3, 1), (4, 4, 0),
])
def test_capd_points_as_given_for_items_5_to_8_and_reversed_for_1_to_4(
    answer, given, reversed_
):
    for item in neuro.CAPD_ITEMS:
        expected = reversed_ if item.number <= 4 else given
        assert neuro.capd_points(item, answer) == expected


def test_a_calm_engaged_child_scores_0():
    # Always makes eye contact, purposeful, aware, communicates; never restless,
    # inconsolable, underactive or slow.
    answers = {i.code: (4 if i.number <= 4 else 0) for i in neuro.CAPD_ITEMS}

    assert neuro.capd_total(answers) == 0


def test_the_worst_answers_score_32():
    answers = {i.code: (0 if i.number <= 4 else 4) for i in neuro.CAPD_ITEMS}

    assert neuro.capd_total(answers) == 32


def test_never_to_everything_scores_16_because_items_1_to_4_are_reversed():
    # Never (0) on items 1-4 gives 4 each; never on 5-8 gives 0.
    assert neuro.capd_total(capd_answers(0)) == 16
    assert neuro.capd_total(capd_answers(4)) == 16


def test_one_reversed_item_changes_the_total_the_other_way():
    calm = {i.code: (4 if i.number <= 4 else 0) for i in neuro.CAPD_ITEMS}
    eye = next(i.code for i in neuro.CAPD_ITEMS if i.number == 1)
    restless = next(i.code for i in neuro.CAPD_ITEMS if i.number == 5)

    assert neuro.capd_total({**calm, eye: 1}) == 3  # "rarely" makes eye contact
    assert neuro.capd_total({**calm, restless: 3}) == 3  # "often" restless


@pytest.mark.parametrize("item", [i.code for i in neuro.CAPD_ITEMS])
def test_capd_total_refuses_a_missing_item_naming_it(item):
    answers = capd_answers(2)
    del answers[item]

    with pytest.raises(neuro.NeuroAnswersInvalid) as refused:
        neuro.capd_total(answers)

    assert list(refused.value.errors) == [item]


@pytest.mark.parametrize("answer", [-1, 5, True, 2.0, "2", None])
def test_capd_total_refuses_an_answer_outside_0_to_4_naming_the_item(answer):
    item = neuro.CAPD_ITEMS[6].code

    with pytest.raises(neuro.NeuroAnswersInvalid) as refused:
        neuro.capd_total({**capd_answers(1), item: answer})

    assert list(refused.value.errors) == [item]


def test_capd_total_refuses_an_unknown_item():
    with pytest.raises(neuro.NeuroAnswersInvalid) as refused:
        neuro.capd_total({**capd_answers(1), "sleepy": 2})

    assert "sleepy" in refused.value.errors


# The age rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(("age", "tool"), [
    (0, "capd"), (7, "capd"), (11, "capd"), (12, "ice"), (13, "ice"), (70, "ice"),
])
def test_ice_from_12_years_and_capd_under_12(age, tool):
    assert neuro.neuro_tool_for_age(age) == tool


@pytest.mark.parametrize("age", [-1, 11.5, True, "12", None])
def test_age_that_is_not_a_whole_number_of_years_is_refused(age):
    with pytest.raises(ValueError, match="age"):
        neuro.neuro_tool_for_age(age)


# "Cannot be woken or does not respond" ------------------------------------------------


@pytest.mark.parametrize("tool", ["ice", "capd"])
def test_cannot_be_woken_is_the_emergency_at_once(tool):
    record = neuro.unresponsive_record(tool)

    result = evaluate(parse_check_in(record), [], RuleSet.default())

    assert (result.severity, result.emergency) == ("red", True)
    assert "drowsiness" in [f.rule for f in result.findings]


def test_cannot_be_woken_on_ice_scores_0_and_on_capd_gives_no_score():
    # The document: for ICE "the score is 0"; the CAPD questions were never asked.
    assert neuro.unresponsive_record("ice") == {"symptoms": {"drowsiness": 4}, "ice_score": 0}
    assert neuro.unresponsive_record("capd") == {"symptoms": {"drowsiness": 4}}


def test_cannot_be_woken_on_ice_fires_the_ice_rules_too():
    result = evaluate(parse_check_in(neuro.unresponsive_record("ice")), [], RuleSet.default())

    assert {"neuro_ice", "neuro_ice_severe"} <= {f.rule for f in result.findings}


def test_unresponsive_record_is_a_fresh_copy_each_time():
    first = neuro.unresponsive_record("ice")
    first["symptoms"]["drowsiness"] = 0

    assert neuro.unresponsive_record("ice")["symptoms"] == {"drowsiness": 4}


def test_unresponsive_record_refuses_an_unknown_tool():
    with pytest.raises(ValueError, match="tool"):
        neuro.unresponsive_record("gcs")  # type: ignore[arg-type]


def test_with_unresponsive_keeps_the_other_answers_and_symptoms():
    page = {"temperature_c": 38.2, "worry": 3, "symptoms": {"seizure": 1, "drowsiness": 1},
            "capd_score": 3}

    capd = neuro.with_unresponsive(page, "capd")
    ice = neuro.with_unresponsive({**page, "ice_score": 9}, "ice")

    assert capd == {"temperature_c": 38.2, "worry": 3,
                    "symptoms": {"seizure": 1, "drowsiness": 4}}
    assert ice["ice_score"] == 0
    assert ice["symptoms"] == {"seizure": 1, "drowsiness": 4}
    assert page["symptoms"] == {"seizure": 1, "drowsiness": 1}  # the input is untouched
    result = evaluate(parse_check_in(capd), [], RuleSet.default())
    assert {"seizure", "drowsiness", "temperature_high"} <= {f.rule for f in result.findings}


# A check stopped part-way: the least severe total consistent with the answers ----------


def test_ice_bound_of_nothing_answered_is_10_and_of_everything_is_the_total():
    assert neuro.ice_bound({}) == 10
    answers = {**all_right(), "year": False, "counting": False}
    assert neuro.ice_bound(answers) == neuro.ice_total(answers) == 8


def test_ice_bound_is_the_points_so_far_plus_every_unanswered_task():
    # Two tasks wrong, then stopped: at most 8 whatever the other eight answers.
    assert neuro.ice_bound({"year": False, "month": False}) == 8
    # Three right, one wrong, six not answered: 3 + 6.
    assert neuro.ice_bound({"year": True, "month": True, "city": True,
                            "hospital": False}) == 9


def test_ice_bound_of_two_wrong_fires_neuro_ice_whatever_the_rest():
    record = parse_check_in({"ice_score": neuro.ice_bound({"year": False, "month": False})})
    result = evaluate(record, [], RuleSet.default())
    assert "neuro_ice" in {f.rule for f in result.findings}


def test_ice_bound_refuses_an_unknown_task_or_an_answer_that_is_not_true_or_false():
    with pytest.raises(neuro.NeuroAnswersInvalid) as refused:
        neuro.ice_bound({"colour": True, "year": 1})
    assert set(refused.value.errors) == {"colour", "year"}


def test_capd_bound_of_nothing_answered_is_0():
    assert neuro.capd_bound({}) == 0


def test_capd_bound_counts_reversed_items_by_their_answer_and_the_rest_as_0():
    # Items 1-3 (reversed) "never" = 4 points each: 12 already, whatever follows.
    assert neuro.capd_bound({"eye_contact": 0, "purposeful": 0, "aware": 0}) == 12
    # A reversed item "always" scores 0, item 5 "always" 4.
    assert neuro.capd_bound({"eye_contact": 4, "restless": 4}) == 4
    # Unanswered items count 0 (their least-scoring answer, "always" for items 1-4).
    assert neuro.capd_bound({"slow_to_respond": 2}) == 2


def test_capd_bound_of_everything_answered_is_the_total():
    answers = capd_answers(2, eye_contact=0, restless=3)
    assert neuro.capd_bound(answers) == neuro.capd_total(answers)


def test_capd_bound_refuses_an_answer_outside_0_to_4_naming_the_item():
    with pytest.raises(neuro.NeuroAnswersInvalid) as refused:
        neuro.capd_bound({"restless": 5, "aware": True, "mood": 1})
    assert set(refused.value.errors) == {"restless", "aware", "mood"}
