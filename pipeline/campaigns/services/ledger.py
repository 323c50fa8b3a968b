"""The delivery ledger of local sending: its counts, and its one hot statement, moving rows from
one state to the next.

A campaign to 10,000 readers makes a few thousand of these moves, so each is a single
``UPDATE ... RETURNING`` in plain SQL: the ORM would need a SELECT FOR UPDATE and an UPDATE,
and spends about a millisecond of CPU compiling them, more than the database takes to run
them. On PostgreSQL rows another worker has locked are skipped, not waited for.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count

from pipeline.campaigns.models import Campaign, Delivery


def ledger_move(pks: list[int], *, from_state: str, to_state: str, at: datetime,
                error: str | None = None) -> set[int]:
    """Set ``to_state`` on those of ``pks`` still in ``from_state``; returns the ones moved."""
    if not pks:
        return set()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    assignments = "state = %s, updated_at = %s" + (", error = %s" if error is not None else "")
    values = [to_state, connection.ops.adapt_datetimefield_value(at)]
    if error is not None:
        values.append(error)
    if connection.vendor == "postgresql":
        # One array parameter (not one per id), and rows locked elsewhere skipped.
        chosen = (f"id IN (SELECT id FROM {table} WHERE id = ANY(%s) AND state = %s "
                  "FOR UPDATE SKIP LOCKED)")
        values += [list(pks), from_state]
    else:
        chosen = f"id IN ({', '.join(['%s'] * len(pks))}) AND state = %s"
        values += [*pks, from_state]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} WHERE {chosen} RETURNING id", values)
        return {row[0] for row in cursor.fetchall()}


@dataclass
class LedgerCounts:
    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    uncertain: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.sent + self.failed + self.uncertain


def ledger_counts(campaign: Campaign) -> LedgerCounts:
    rows = Delivery.objects.filter(campaign=campaign).values("state").annotate(n=Count("pk"))
    return LedgerCounts(**{row["state"]: row["n"] for row in rows})
