"""What every message carries whatever its sender: its Message-ID."""

from __future__ import annotations

import hashlib
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings

from notifications.models import Delivery


def message_id_for(delivery: Delivery) -> str:
    """The email Message-ID of this delivery, the same for every copy ever sent of it:
    "<delivery-{id}-{12 hex of the row's key}@{host}>". The key (which holds the address)
    is hashed so that the header says nothing about the recipient; the host is the sender
    address's domain, else SITE_URL's host."""
    digest = hashlib.sha256(delivery.key.encode()).hexdigest()[:12]
    host = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
    host = host or urlsplit(settings.SITE_URL).hostname or "homeline.invalid"
    return f"<delivery-{delivery.pk}-{digest}@{host}>"
