"""The benchmark's no-op Celery task (the worker of the stack is started with
`--include bench.tasks`): it only tells the benchmark it ran, by one UDP datagram, so that
its round trip is the broker's and the worker's own cost, measured like an alert's."""

from __future__ import annotations

import socket

from celery import shared_task


@shared_task(name="bench.noop", ignore_result=True)
def noop(token: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(token.encode(), ("127.0.0.1", port))
