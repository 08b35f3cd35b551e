"""Hypothesis settings for the property tests of the rule engine.

The `too_slow` and `large_base_example` health checks measure how fast examples are drawn,
which depends on how busy the machine is (a CI runner shared with a browser, PostgreSQL and
workers), not on the rules: on a loaded machine they failed a run whose every example
passed. The properties themselves are unchanged; no deadline is set, since a timed
assertion has no place in the suite (speed goals live in bench/).
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "homeline",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
    deadline=None,
)
settings.load_profile("homeline")
