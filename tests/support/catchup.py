"""Shared by the catch-up tests: a series of six parts with four live, readers, an ordered SMTP
sink, and the moments of the daily catch-up (09:00 in the series' time zone)."""

import email
import threading
import zoneinfo
from datetime import date, datetime, time, timedelta

from pipeline.catchup.models import CatchupSetting
from tests.support.factories import make_part, make_series
from tests.support.smtp_sink import CountingHandler

LONDON = zoneinfo.ZoneInfo("Europe/London")


class OrderedHandler(CountingHandler):
    """Counts copies as the sink does, and keeps each recipient's subjects in arrival order."""

    def __init__(self):
        super().__init__()
        self.order: dict[str, list[str]] = {}
        self.raw: dict[str, list[bytes]] = {}
        self.order_lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        subject = str(email.message_from_bytes(envelope.content).get("Subject", ""))
        with self.order_lock:
            for rcpt in envelope.rcpt_tos:
                self.order.setdefault(rcpt.lower(), []).append(subject)
                self.raw.setdefault(rcpt.lower(), []).append(envelope.content)
        return answer

    def subjects(self, address: str) -> list[str]:
        with self.order_lock:
            return list(self.order.get(address, []))


def series_with_parts(*, live: int = 4, total: int = 6, every_days: int = 1):
    series = make_series(title="Moving Well", slug="moving-well")
    parts = [make_part(series, title=f"Step {n}", part_number=n, live=n <= live)
             for n in range(1, total + 1)]
    CatchupSetting.objects.create(series=series, enabled=True, every_days=every_days)
    return series, parts


def catchup_subject(part) -> str:
    return f"Catching up: Moving Well, part {part.part_number}: {part.title}"


def morning(day: date, minutes: int = 1) -> datetime:
    """Just after the day's catch-up time (09:00 London, the default send time)."""
    return datetime.combine(day, time(9, 0), tzinfo=LONDON) + timedelta(minutes=minutes)
