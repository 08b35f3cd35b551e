"""Scale: the nurse's triage queue and a patient's timeline with 1,000 check-ins in the
database, then with 1,000,000 over 10,000 patients; the ratio of the two, and the queries
each page runs.

What the nurse sees is the same at both sizes: her care team (100 patients, its open
alerts) and the timeline patient (100 daily check-ins over three infusion cycles). What
grows is everything around it: 1,000 -> 1,000,000 check-ins, 100 -> 10,000 patients in 1 ->
100 teams, and with them alerts (one per amber or red check-in, nearly all resolved, 15 %
of patients with one open), their check-in links and their sent emails. So the ratio says
how the pages cope with the size of the tables, not with a longer page.

Rows are loaded in bulk by PostgreSQL itself (INSERT ... SELECT over generate_series, with
results the rule engine gives for the same readings), then VACUUM ANALYZE, as autovacuum
would leave a table that grew over months. Pages are timed over HTTP against gunicorn,
signed in as a nurse through the real sign-in and TOTP pages, interleaved, after a warm-up.
Queries are counted by the same requests made in this process (django.test.Client on the
nurse's session, the same middleware), with the slowest query's time.

    BENCH_SCALE_ROWS=1000000    check-ins at the large size (100 per patient; >= 10000)
    BENCH_SCALE_REQUESTS=40     timed requests per page and size
    BENCH_EXPLAIN=1             print EXPLAIN ANALYZE of each page's slowest query (always
                                when a page misses its goal)
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import date, timedelta

from bench import report, stack

ROWS = max(10_000, int(os.environ.get("BENCH_SCALE_ROWS", "1000000")))
REQUESTS = int(os.environ.get("BENCH_SCALE_REQUESTS", "40"))
WARM_UP = 5
EXPLAIN = os.environ.get("BENCH_EXPLAIN") == "1"
PER_PATIENT = 100
PER_TEAM = 100
OPEN_PERCENT = 15


# ---------------------------------------------------------------------------------- data

def _readings() -> dict[str, dict]:
    """Typical green, amber and red check-ins, graded by the real rule engine."""
    from triage.rules import RuleSet, evaluate
    from triage.validation import parse_check_in

    ruleset = RuleSet.default()
    raws = {
        "green": {"temperature_c": 36.8, "symptoms": {"fatigue": 1, "nausea": 1}},
        "amber": {"temperature_c": 37.0, "symptoms": {"headache": 2, "fatigue": 1}},
        "red": {"temperature_c": 38.2, "symptoms": {"chills": 1}},
    }
    readings = {}
    for kind, raw in raws.items():
        result = evaluate(parse_check_in(raw), [], ruleset)
        assert result.severity == kind, (kind, result.severity)
        readings[kind] = {"temperature": raw["temperature_c"], "symptoms": raw["symptoms"],
                          "findings": [f.to_json() for f in result.findings],
                          "version": result.rules_version}
    readings["ruleset"] = ruleset.to_json()
    return readings


CHECK_INS_SQL = """
INSERT INTO symptoms_checkin (
    patient_id, recorded_at, created_at, recorded_by_id, recorded_as, submission_key,
    temperature_c, symptoms, pump, notes, severity, emergency, findings, rules_version, ruleset)
SELECT p.id, r.at, r.at + interval '1 minute', p.user_id, 'patient', gen_random_uuid(),
       CASE WHEN t.severity = 'green' THEN 36.1 + (r.h %% 12) / 10.0 ELSE t.temperature END,
       CASE WHEN t.severity = 'green' AND r.h %% 3 = 0 THEN '{}'::jsonb ELSE t.symptoms END,
       '', '', t.severity, false, t.findings, %(version)s, %(ruleset)s::jsonb
FROM unnest(%(ids)s::bigint[], %(users)s::bigint[], %(first)s::int[], %(last)s::int[])
     AS p(id, user_id, first_day, last_day)
CROSS JOIN LATERAL generate_series(p.first_day, p.last_day - 1) AS d(n)
CROSS JOIN LATERAL (SELECT hashtext(p.id || ':' || d.n)::bigint & 2147483647 AS h) AS hh
CROSS JOIN LATERAL (SELECT %(now)s::timestamptz
                           - make_interval(days => d.n, mins => (hh.h %% 600)::int) AS at,
                           hh.h / 7 AS h) AS r
JOIN (VALUES ('green', %(green_t)s::numeric, %(green_s)s::jsonb, %(green_f)s::jsonb),
             ('amber', %(amber_t)s::numeric, %(amber_s)s::jsonb, %(amber_f)s::jsonb),
             ('red', %(red_t)s::numeric, %(red_s)s::jsonb, %(red_f)s::jsonb))
     AS t(severity, temperature, symptoms, findings)
  ON t.severity = CASE WHEN hh.h %% 1000 < 800 THEN 'green'
                       WHEN hh.h %% 1000 < 950 THEN 'amber' ELSE 'red' END
"""

# One alert per amber or red check-in (resolved), its link and its sent email, in one
# statement; ids are drawn first so the three inserts agree.
ALERTS_SQL = """
WITH src AS MATERIALIZED (
    SELECT c.id AS check_in_id, c.patient_id, c.severity, c.recorded_at, c.findings,
           nextval(pg_get_serial_sequence('symptoms_alert', 'id')) AS alert_id
    FROM symptoms_checkin c
    WHERE c.id > %(after)s AND c.severity <> 'green'
), alerts AS (
    INSERT INTO symptoms_alert (
        id, patient_id, severity, emergency, rules, red_rules, rules_version, state,
        opened_at, notices, last_notice_at, escalation_from, escalation_round,
        escalation_level, acknowledged_by_id, acknowledged_at, resolved_by_id, resolved_at,
        outcome, outcome_note)
    SELECT alert_id, patient_id, severity, false,
           jsonb_path_query_array(findings, '$[*].rule'),
           jsonb_path_query_array(findings, '$[*] ? (@.severity == "red").rule'),
           %(version)s, 'resolved', recorded_at, 1, recorded_at, recorded_at, 1, 0,
           %(nurse)s, recorded_at + interval '10 minutes',
           %(nurse)s, recorded_at + interval '40 minutes', 'advice_given', ''
    FROM src
), links AS (
    INSERT INTO symptoms_alertcheckin (alert_id, check_in_id, attached_at, paged)
    SELECT alert_id, check_in_id, recorded_at, true FROM src
)
INSERT INTO symptoms_delivery (
    key, alert_id, patient_id, purpose, step, role, channel, address, severity, state,
    attempts, next_attempt_at, claimed_at, sent_at, last_error, created_at)
SELECT 'alert:' || alert_id || ':notice:notice 1:email:duty@bench.invalid', alert_id,
       patient_id, 'notice', 'notice 1', 'duty', 'email', 'duty@bench.invalid', severity,
       'sent', 1, recorded_at, recorded_at, recorded_at + interval '2 seconds', '',
       recorded_at
FROM src
"""

# Of these patients, about OPEN_PERCENT % have their latest alert of the last 9 days still
# open (a third of those acknowledged): the nurse queue's content.
OPEN_SQL = """
UPDATE symptoms_alert a
SET state = CASE WHEN a.id %% 3 = 0 THEN 'acknowledged' ELSE 'open' END,
    acknowledged_by_id = CASE WHEN a.id %% 3 = 0 THEN %(nurse)s::bigint END,
    acknowledged_at = CASE WHEN a.id %% 3 = 0 THEN a.opened_at + interval '10 minutes' END,
    resolved_by_id = NULL, resolved_at = NULL, outcome = ''
WHERE a.id IN (
    SELECT DISTINCT ON (o.patient_id) o.id
    FROM symptoms_alert o
    WHERE o.patient_id = ANY(%(ids)s::bigint[])
      AND o.opened_at >= %(now)s::timestamptz - interval '9 days'
      AND (hashtext('open:' || o.patient_id)::bigint & 2147483647) %% 100 < %(percent)s
    ORDER BY o.patient_id, o.opened_at DESC)
"""


@dataclass
class Loaded:
    patients: int
    check_ins: int
    alerts: int
    open_alerts: int
    deliveries: int
    checkin_table_mb: float
    seconds: float


class World:
    def __init__(self) -> None:
        from django.utils import timezone

        self.now = timezone.now()
        self.readings = _readings()

    def patients(self, teams_, infusion_days_ago) -> list:
        from django.contrib.auth.hashers import make_password

        from accounts.models import Patient, Role, User
        from bench.cast import plans_create

        unusable = make_password(None)
        users = User.objects.bulk_create(
            (User(email=f"scale-{t.pk}-{n}@bench.invalid", full_name=f"Scale Patient {n}",
                  role=Role.PATIENT, password=unusable)
             for t in teams_ for n in range(PER_TEAM)), batch_size=2000)
        today = date.today()
        made = Patient.objects.bulk_create(
            (Patient(care_team=team, user=users[i * PER_TEAM + n],
                     display_name=f"Scale Patient {i}-{n}", date_of_birth=date(1980, 5, 5),
                     hospital_number=f"SC{team.pk}-{n}")
             for i, team in enumerate(teams_) for n in range(PER_TEAM)), batch_size=2000)
        starts = [today - timedelta(days=infusion_days_ago(i, n))
                  for i in range(len(teams_)) for n in range(PER_TEAM)]
        plans_create([(p.pk, start, 3) for p, start in zip(made, starts, strict=True)])
        return made

    def check_ins(self, plan: list[tuple[object, int, int]]) -> None:
        """plan: (patient, first day back, last day back (exclusive)) per patient."""
        from django.db import connection

        r = self.readings
        params = {
            "ids": [p.pk for p, _, _ in plan], "users": [p.user_id for p, _, _ in plan],
            "first": [a for _, a, _ in plan], "last": [b for _, _, b in plan],
            "now": self.now, "version": r["green"]["version"],
            "ruleset": json.dumps(r["ruleset"]),
        }
        for kind in ("green", "amber", "red"):
            params[f"{kind}_t"] = r[kind]["temperature"]
            params[f"{kind}_s"] = json.dumps(r[kind]["symptoms"])
            params[f"{kind}_f"] = json.dumps(r[kind]["findings"])
        with connection.cursor() as cursor:
            cursor.execute(CHECK_INS_SQL, params)

    def alerts(self, after_check_in: int, nurse, patient_ids: list[int]) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(ALERTS_SQL, {"after": after_check_in, "nurse": nurse.pk,
                                        "version": self.readings["green"]["version"]})
            cursor.execute(OPEN_SQL, {"ids": patient_ids, "nurse": nurse.pk, "now": self.now,
                                      "percent": OPEN_PERCENT})

    def settle(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            for table in ("symptoms_checkin", "symptoms_alert", "symptoms_alertcheckin",
                          "symptoms_delivery", "accounts_patient", "accounts_user",
                          "accounts_careteam", "accounts_membership"):
                cursor.execute(f"VACUUM ANALYZE {table}")

    def counts(self, seconds: float) -> Loaded:
        from django.db import connection

        from accounts.models import Patient
        from alerts.models import Alert, AlertState
        from notifications.models import Delivery
        from symptoms.models import CheckIn

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size('symptoms_checkin')")
            size = cursor.fetchone()[0] / 1024 / 1024
        return Loaded(
            Patient.objects.filter(hospital_number__startswith="SC").count(),
            CheckIn.objects.filter(patient__hospital_number__startswith="SC").count(),
            Alert.objects.filter(patient__hospital_number__startswith="SC").count(),
            Alert.objects.filter(patient__hospital_number__startswith="SC")
            .exclude(state=AlertState.RESOLVED).count(),
            Delivery.objects.filter(patient__hospital_number__startswith="SC").count(),
            size, seconds)


def _last_check_in_id() -> int:
    from symptoms.models import CheckIn

    return CheckIn.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# ---------------------------------------------------------------------------------- pages

@dataclass
class PageTimes:
    times: list[float]
    queries: int
    slowest_ms: float
    slowest_sql: str
    db_ms: float

    @property
    def median_ms(self) -> float:
        return report.median(self.times) * 1000

    @property
    def p95_ms(self) -> float:
        return report.percentile(self.times, 0.95) * 1000


def _count_queries(sessionid: str, url: str) -> tuple[int, float, str, float]:
    """(queries, slowest ms, slowest SQL, total SQL ms) of one request in this process.

    Counted as Django counts them (CaptureQueriesContext, as the tests' query-count
    assertions do: BEGIN and COMMIT included); timed with an execute wrapper, to the
    microsecond.
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    timed: list[tuple[float, str]] = []

    def timer(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            literal = sql if params is None else sql % tuple(_literal(p) for p in params)
            timed.append(((time.perf_counter() - began) * 1000, literal))

    # secure=True: as gunicorn marks a request from the proxy (Django reads no forwarded
    # header for the scheme; portal/gunicorn.conf.py).
    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies["sessionid"] = sessionid
    client.get(url, secure=True)  # connection and caches warm, as in a running worker
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
        response = client.get(url, secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code} in this process")
    slowest = max(timed, default=(0.0, ""))
    return len(captured.captured_queries), slowest[0], slowest[1], sum(t for t, _ in timed)


def _literal(value: object) -> str:
    """A parameter as an SQL literal, for EXPLAIN of a captured query (numbers, text,
    times: what these pages pass)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _explain(sql: str) -> None:
    from django.db import connection

    if not sql.lstrip().upper().startswith("SELECT"):
        print(f"    (a write, not explained: {sql[:100]}...)")
        return
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        plan = "\n".join(f"      {row[0]}" for row in cursor.fetchall())
    print(f"    EXPLAIN ANALYZE {sql[:300]}{'...' if len(sql) > 300 else ''}\n{plan}")


def _time_pages(client, urls: dict[str, str]) -> dict[str, PageTimes]:
    times: dict[str, list[float]] = {name: [] for name in urls}
    for n in range(WARM_UP + REQUESTS):
        for name, url in urls.items():
            answer = client.get(url)
            if answer.status != 200:
                raise RuntimeError(f"{url} answered {answer.status} {answer.location}")
            if n >= WARM_UP:
                times[name].append(answer.seconds)
    pages = {}
    for name, url in urls.items():
        queries, slowest, sql, db_ms = _count_queries(client.cookies["sessionid"], url)
        pages[name] = PageTimes(times[name], queries, slowest, sql, db_ms)
    return pages


# ---------------------------------------------------------------------------------- run

def main() -> None:
    s = stack.get()
    from django.urls import reverse

    from bench.cast import nurse, sign_in_staff, teams

    world = World()
    patients_total = ROWS // PER_PATIENT
    teams_total = max(1, patients_total // PER_TEAM)

    # Small: the nurse's team, 100 patients, 1,000 check-ins (the timeline patient's 100,
    # and the nine or ten most recent days of the others).
    began = time.perf_counter()
    home = teams("Scale", 1)[0]
    scale_nurse = nurse(home, "scale-nurse@bench.invalid")
    home_patients = world.patients([home], lambda i, n: 111 if n == 0 else 60 + n % 50)
    shown = home_patients[0]
    small_days = [PER_PATIENT if n == 0 else (10 if n < 10 else 9)
                  for n in range(len(home_patients))]
    after = _last_check_in_id()
    world.check_ins([(p, 0, k) for p, k in zip(home_patients, small_days, strict=True)])
    world.alerts(after, scale_nurse, [p.pk for p in home_patients])
    world.settle()
    small = world.counts(time.perf_counter() - began)

    client = sign_in_staff(s.base_url, scale_nurse)
    s.shared["staff_signed_in"] = True
    urls = {"nurse queue": reverse("alert_list"),
            "patient timeline": reverse("patient_timeline", args=[shown.pk])}
    small_pages = _time_pages(client, urls)

    # Large: the rest of the home team's history (older days), and 99 more teams.
    print(f"  (scale: loading {ROWS:,} check-ins ...)", flush=True)
    began = time.perf_counter()
    others = teams("Scale", teams_total - 1, first=1)
    other_patients = world.patients(others, lambda i, n: 40 + (i * 7 + n) % 90)
    after = _last_check_in_id()
    plan = [(p, k, PER_PATIENT) for p, k in zip(home_patients[1:], small_days[1:], strict=True)]
    for start in range(0, len(other_patients), 1000):  # 100,000 rows a statement
        world.check_ins(plan + [(p, 0, PER_PATIENT) for p in other_patients[start:start + 1000]])
        plan = []
    world.alerts(after, scale_nurse, [p.pk for p in other_patients])
    world.settle()
    large = world.counts(time.perf_counter() - began)
    large_pages = _time_pages(client, urls)

    _print(small, large, small_pages, large_pages, s)


def _print(small: Loaded, large: Loaded, small_pages, large_pages, s: stack.Stack) -> None:
    report.title("3. Scale: the nurse queue and a patient timeline, 1k then 1M check-ins")
    report.note(f"{REQUESTS} requests per page and size over HTTP (after {WARM_UP}), "
                "interleaved, one at a time, signed in as a nurse (TOTP); the nurse's team "
                "and the timeline patient are the same at both sizes")
    rows = []
    for label, loaded in (("small", small), ("large", large)):
        rows.append([label, f"{loaded.patients:,}", f"{loaded.check_ins:,}",
                     f"{loaded.alerts:,}", f"{loaded.open_alerts:,}",
                     f"{loaded.deliveries:,}", f"{loaded.checkin_table_mb:,.0f}",
                     f"{loaded.seconds:.0f}"])
    report.table(["data", "patients", "check-ins", "alerts", "open", "emails",
                  "check-in table MB", "load s"], rows)
    report.note("the table's size is the whole table's (the other benchmarks' rows too), "
                "with its indexes and TOAST; load s: bulk load, then VACUUM ANALYZE")
    print()
    rows = []
    for name in small_pages:
        a, b = small_pages[name], large_pages[name]
        ratio = b.median_ms / a.median_ms
        rows.append([name, f"{a.median_ms:.1f}", f"{a.p95_ms:.1f}", f"{b.median_ms:.1f}",
                     f"{b.p95_ms:.1f}", f"{ratio:.2f}", f"{a.queries} / {b.queries}",
                     f"{a.db_ms:.1f} / {b.db_ms:.1f}", f"{a.slowest_ms:.2f} / {b.slowest_ms:.2f}"])
    report.table(["page", "1k median ms", "1k p95", "1M median ms", "1M p95", "ratio",
                  "queries 1k / 1M", "SQL ms 1k / 1M", "slowest ms"], rows)
    report.note("queries as Django counts them (BEGIN and COMMIT included), with their total "
                "and slowest time, from one request of each in this process")
    for name in small_pages:
        ratio = large_pages[name].median_ms / small_pages[name].median_ms
        report.ratio(f"{name}: 1M / 1k median", ratio, goal="<= 1.5", ok=ratio <= 1.5)
        s.shared.setdefault("summary", []).append(
            (f"{name}, 1M / 1k check-ins", f"{ratio:.2f}", "<= 1.5", ratio <= 1.5))
        if EXPLAIN or ratio > 1.5:
            print(f"  {name}, slowest query at the large size "
                  f"({large_pages[name].slowest_ms:.1f} ms):")
            _explain(large_pages[name].slowest_sql)
    if ROWS != 1_000_000:
        report.note(f"BENCH_SCALE_ROWS={ROWS}: the large size is {large.check_ins:,} "
                    "check-ins, not 1,000,000")

