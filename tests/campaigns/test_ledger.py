"""The ledger's hot statement: each row moves only from the state the sender expects it in, so
a take-over's verdict is never written over, on SQLite and PostgreSQL alike."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from pipeline.campaigns.models import Delivery, DeliveryState
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.claims import campaign_claim
from pipeline.campaigns.services.ledger import LedgerChange, ledger_apply
from pipeline.campaigns.services.local import _start
from pipeline.providers.campaign_email import sender_domain
from tests.support.factories import make_offer
from tests.support.processes import wait_until
from tests.support.subscribers import make_subscribers

D = DeliveryState


def _ledger_rows(count: int) -> list[Delivery]:
    """A scheduled discount's ledger of ``count`` pending rows, as a worker writes it."""
    make_subscribers(count)
    offer = make_offer(code="ledger")
    campaign = campaign_create_discount(offer=offer, name="Ledger", send_at=None)
    assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor").ok
    claimed = campaign_claim(campaign_id=campaign.pk, worker="w", now=timezone.now())
    _start(claimed, "w")
    return list(Delivery.objects.filter(campaign=campaign).order_by("pk"))


def _a_statement_waits_on_a_row_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock' AND query LIKE 'WITH change %%'")
        return cursor.fetchone()[0] > 0


def _states(rows: list[Delivery]) -> list[str]:
    by_pk = dict(Delivery.objects.filter(pk__in=[row.pk for row in rows])
                 .values_list("pk", "state"))
    return [by_pk[row.pk] for row in rows]


@pytest.mark.django_db
def test_the_ledger_is_written_with_a_distinct_message_id_per_reader(series):
    rows = _ledger_rows(5)
    assert _states(rows) == [D.PENDING] * 5
    assert len({row.message_id for row in rows}) == 5
    for row in rows:
        assert row.message_id.startswith(f"<{row.campaign_id}.{row.subscriber_id}.")
        assert row.message_id.endswith(f"@{sender_domain()}>")
        assert row.email == row.subscriber.email


@pytest.mark.django_db
def test_only_rows_still_in_the_expected_state_move(series):
    sent, taken_over, claim, claimed_elsewhere, refused = _ledger_rows(5)
    Delivery.objects.filter(pk__in=[sent.pk, claimed_elsewhere.pk, refused.pk]).update(
        state=D.SENDING)
    Delivery.objects.filter(pk=taken_over.pk).update(state=D.UNCERTAIN, error="in flight")

    moved = ledger_apply([
        LedgerChange(sent.pk, D.SENDING, D.SENT),
        LedgerChange(taken_over.pk, D.SENDING, D.SENT),  # a take-over marked it: not ours
        LedgerChange(refused.pk, D.SENDING, D.FAILED, "550 no such user"),
        LedgerChange(claim.pk, D.PENDING, D.SENDING),
        LedgerChange(claimed_elsewhere.pk, D.PENDING, D.SENDING),  # another worker has it
    ], at=timezone.now())

    assert moved == {sent.pk, refused.pk, claim.pk}
    assert _states([sent, taken_over, claim, claimed_elsewhere, refused]) == [
        D.SENT, D.UNCERTAIN, D.SENDING, D.SENDING, D.FAILED]
    assert Delivery.objects.get(pk=refused.pk).error == "550 no such user"
    assert Delivery.objects.get(pk=taken_over.pk).error == "in flight"
    assert ledger_apply([], at=timezone.now()) == set()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_take_over_holding_the_row_is_waited_for_and_its_verdict_kept(series):
    """A worker that took the campaign over is marking what was in flight uncertain, in a
    transaction not yet committed, while the old worker records its outcomes: the old
    worker's statement waits for the row, then sees it is no longer ``sending`` and leaves it."""
    in_flight, other = _ledger_rows(2)
    Delivery.objects.filter(pk__in=[in_flight.pk, other.pk]).update(state=D.SENDING)
    locked, release, moved = threading.Event(), threading.Event(), []

    def take_over():
        try:
            with transaction.atomic():
                Delivery.objects.filter(pk=in_flight.pk).update(state=D.UNCERTAIN)
                locked.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    def old_worker():
        try:
            moved.append(ledger_apply([LedgerChange(in_flight.pk, D.SENDING, D.SENT),
                                       LedgerChange(other.pk, D.SENDING, D.SENT)],
                                      at=timezone.now()))
        finally:
            connections.close_all()

    holder = threading.Thread(target=take_over)
    holder.start()
    assert locked.wait(timeout=30)
    recorder = threading.Thread(target=old_worker)
    recorder.start()
    # The statement is seen by PostgreSQL itself waiting on the row lock, not given up on it.
    wait_until(_a_statement_waits_on_a_row_lock, timeout=30, what="the ledger statement to wait")
    assert recorder.is_alive() and not moved
    release.set()
    holder.join(timeout=30)
    recorder.join(timeout=30)

    assert moved == [{other.pk}]
    assert _states([in_flight, other]) == [D.UNCERTAIN, D.SENT]
