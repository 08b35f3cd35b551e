"""Signals the check-in service sends, for the apps above it (alerts) to act on.

`check_in_saved(sender=CheckIn, check_in=...)` is sent inside the check-in's transaction,
after the row is saved: a receiver's writes commit or roll back with it, and an exception
in a receiver aborts the check-in (nothing half-saved). Receivers run synchronously.
"""

from __future__ import annotations

from django.dispatch import Signal

check_in_saved = Signal()
