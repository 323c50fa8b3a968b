"""The delivery ledger of local sending: its counts, and its hot statements, moving rows from
one state to the next.

A campaign to 10,000 readers makes a few thousand of these moves, so each is a single
``UPDATE ... RETURNING`` in plain SQL: the ORM would need a SELECT FOR UPDATE and an UPDATE,
and spends about a millisecond of CPU compiling them, more than the database takes to run
them. On PostgreSQL rows another worker has locked are skipped, not waited for, and
``ledger_record_and_claim`` writes a half window's outcomes (whatever their states and errors)
and claims the next messages in one statement: one round trip and one commit, not four or five.
"""

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from django.db import connection, transaction
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


def ledger_record_and_claim(outcomes: list[tuple[int, str, str]], claims: list[int], *,
                            recorded_from: str, claimed_from: str, claimed_to: str,
                            at: datetime) -> set[int]:
    """In one transaction: each ``(pk, state, error)`` of ``outcomes`` set on its row if still
    in ``recorded_from``, and ``claimed_to`` on those of ``claims`` still in ``claimed_from``;
    returns the claims moved."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            for (state, error), group in groupby(
                    sorted(outcomes, key=lambda outcome: outcome[1:]),
                    key=lambda outcome: outcome[1:]):
                ledger_move([pk for pk, _, _ in group], from_state=recorded_from,
                            to_state=state, error=error, at=at)
            return ledger_move(claims, from_state=claimed_from, to_state=claimed_to, at=at)
    table = connection.ops.quote_name(Delivery._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(at)
    pks, states, errors = (list(column) for column in zip(*outcomes, strict=True)) if outcomes \
        else ([], [], [])
    # Two data-modifying CTEs over disjoint rows (one state each) in one statement, so one
    # commit. unnest() pairs each row with its own state and error.
    sql = f"""
        WITH recorded AS (
            UPDATE {table} AS row SET state = outcome.state, error = outcome.error,
                updated_at = %s
            FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS outcome(id, state, error)
            WHERE row.id = outcome.id AND row.id IN (
                SELECT id FROM {table} WHERE id = ANY(%s) AND state = %s FOR UPDATE SKIP LOCKED)
            RETURNING row.id
        ), claimed AS (
            UPDATE {table} SET state = %s, updated_at = %s
            WHERE id IN (
                SELECT id FROM {table} WHERE id = ANY(%s) AND state = %s FOR UPDATE SKIP LOCKED)
            RETURNING id
        )
        SELECT id FROM claimed"""
    values = [at, pks, states, errors, pks, recorded_from,
              claimed_to, at, list(claims), claimed_from]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
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
