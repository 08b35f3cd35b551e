"""Issue a one-time enrolment code with which a staff member sets up their authenticator.

    manage.py enrolment_code nurse@example.org

For an operator (a team admin issues codes from the team's people page). The code is
printed once; only its SHA-256 is stored (accounts/enrolment.py).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts import enrolment
from accounts.models import User


class Command(BaseCommand):
    help = "Print a one-time code (72 h) for a staff account's first authenticator enrolment."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email")

    def handle(self, *args: object, email: str, **options: object) -> None:
        try:
            user = User.objects.get_by_natural_key(email.strip())
        except User.DoesNotExist as error:
            raise CommandError(f"email: no account {email!r}") from error
        try:
            code = enrolment.enrolment_code_issue(user=user, issued_by=None)
        except enrolment.EnrolmentError as error:
            raise CommandError(f"email: {error}") from error
        self.stdout.write(f"Enrolment code for {user.email} (once, 72 hours): {code}")
