"""Catch-up and welcome tasks (``mail`` queue: they talk to SMTP or the provider)."""

from celery import shared_task
from django.utils.dateparse import parse_datetime

from pipeline.catchup.services.step import catchup_step
from pipeline.catchup.services.welcome import welcome_send, welcomes_due


# One step sends a page after another until no reader is due; the soft limit is below the
# broker's visibility timeout, and a step cut off resumes at the next tick (rows left sending
# become uncertain after CATCHUP_SENDING_LEASE, never resent).
@shared_task(queue_name="mail", soft_time_limit=1500, time_limit=1560)
def step(at: str | None = None) -> dict:
    """Beat's catch-up tick; ``at`` (ISO 8601) runs it as of another time (tests, replays)."""
    when = parse_datetime(at) if at else None
    if at and when is None:
        raise ValueError(f"not an ISO 8601 date and time: {at!r}")
    report = catchup_step(at=when).as_dict()
    for delivery_id in welcomes_due():
        send_welcome.delay(delivery_id)
    return report


@shared_task(queue_name="mail", soft_time_limit=60, time_limit=90)
def send_welcome(delivery_id: int) -> str:
    return welcome_send(delivery_id=delivery_id)
