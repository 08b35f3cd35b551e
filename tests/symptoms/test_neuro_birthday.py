"""Answers sent to one neurological check are scored as that check, whatever today's age
says (trial: a CAPD opened the evening before a 12th birthday and sent after midnight was
dropped as "not done" and the check-in told the family it was green)."""

from __future__ import annotations

import pytest

from tests.symptoms.test_neuro_check_in import (
    ALWAYS,
    CAPD_FIELDS,
    NEVER,
    born_years_ago,
    ice,
    on_infusion,
    post,
    rules,
    saved_result,
)

# Items 1-4 "never" (reversed: 4 each) and 5-8 "always" (4 each): 32, the worst score.
WORST_CAPD = dict(zip(CAPD_FIELDS, [NEVER] * 4 + [ALWAYS] * 4, strict=True))


@pytest.mark.parametrize("url", ["check_in_new", "check_in_neuro"])
def test_a_capd_sent_on_the_12th_birthday_is_scored_as_sent(as_user, caregiver, child, url):
    born_years_ago(child, 12)  # 12 today: the form shown yesterday was a CAPD
    on_infusion(child)
    client = as_user(caregiver)

    check_in, page = saved_result(client, post(client, child, url=url, temperature="36.8",
                                               **WORST_CAPD))

    assert (check_in.neuro_tool, check_in.capd_score, check_in.ice_score) == ("capd", 32, None)
    assert check_in.severity == "red"
    assert "neuro_capd" in rules(check_in)
    assert "tel:" in page


def test_an_ice_sent_the_day_before_the_12th_birthday_is_scored_as_sent(as_user, caregiver,
                                                                       child):
    born_years_ago(child, 12, days_more=-1)  # 11 today: only a clock moved back gets here
    on_infusion(child)
    client = as_user(caregiver)

    check_in, _page = saved_result(client, post(client, child, **ice(9)))

    assert (check_in.neuro_tool, check_in.ice_score) == ("ice", 9)
    assert "neuro_ice" in rules(check_in)
