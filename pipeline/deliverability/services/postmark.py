"""Postmark's bounce and spam-complaint webhooks (JSON, one record per request, HTTP basic auth
checked by the view). Hard: HardBounce, BadEmailAddress; soft: SoftBounce, Transient, DnsError,
Blocked, SpamNotification (a filter, not the address); a SpamComplaint is a complaint; other
types (AutoResponder, Subscribe, Unsubscribe, ...) are not bounces and are ignored."""

import json
from dataclasses import dataclass

from django.utils.dateparse import parse_datetime

from pipeline.deliverability.models import EventKind, EventSource
from pipeline.deliverability.services.events import Report, event_record

HARD = {"HardBounce", "BadEmailAddress"}
SOFT = {"SoftBounce", "Transient", "DnsError", "Blocked", "SpamNotification"}


class PostmarkMalformed(ValueError):
    pass


@dataclass
class PostmarkOutcome:
    outcome: str
    recorded: bool = False


def postmark_receive(*, body: bytes) -> PostmarkOutcome:
    try:
        record = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise PostmarkMalformed("The body is not JSON.") from error
    if not isinstance(record, dict) or not record.get("ID") or not record.get("Email"):
        raise PostmarkMalformed("Not a Postmark bounce or spam complaint record.")
    record_type, kind_name = str(record.get("RecordType") or ""), str(record.get("Type") or "")
    if record_type == "SpamComplaint" or kind_name == "SpamComplaint":
        kind = EventKind.COMPLAINT
    elif kind_name in HARD:
        kind = EventKind.HARD_BOUNCE
    elif kind_name in SOFT:
        kind = EventKind.SOFT_BOUNCE
    else:
        return PostmarkOutcome(f"ignored: {kind_name or record_type} is not a bounce")
    report = Report(
        kind=kind, key=f"{record_type or 'Bounce'}:{record['ID']}", email=str(record["Email"]),
        status=kind_name[:32],
        diagnostic=f"{record.get('Description') or ''} {record.get('Details') or ''}".strip(),
        occurred_at=parse_datetime(str(record.get("BouncedAt") or "")),
    )
    event = event_record(source=EventSource.POSTMARK, report=report)
    return PostmarkOutcome("recorded" if event else "duplicate", recorded=event is not None)
