"""The clinical rule engine as plain Python: no Django, no database, nothing of the project.

- `catalogue`: the vocabulary of clinical-rules.md as data (symptoms, grades, severities).
- `validation`: the one check-in parser every entry point uses (form, `triage` command, exports).
- `ruleset`: thresholds, override limits and how team and patient layers resolve.
- `rules`: `evaluate(check_in, previous, ruleset)`, pure and exhaustively testable; and
  `bag_change_overdue(due_at, now, ruleset)` for the sweep that watches bag changes.
- `neuro`: the ICE and CAPD items of the neurological self-check and their sums (v2).
"""
