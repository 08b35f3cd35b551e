"""Small request helpers shared by the apps' views."""

from __future__ import annotations

from django.http import HttpRequest, QueryDict


def posted(request: HttpRequest) -> QueryDict | None:
    """The form data of a POST, or None. Unlike `request.POST or None`, an empty POST is
    still a submission: it binds the form and is refused with errors, not shown afresh."""
    return request.POST if request.method == "POST" else None
