"""Concurrent subscribes of one address end in one row (real database, real threads)."""

import threading

import pytest
from django.db import connection, connections

from pipeline.subscribers.models import ConsentRecord, Subscriber
from pipeline.subscribers.services import subscriber_subscribe
from tests.support.factories import make_series


def variants(local: str) -> list[str]:
    return [f"{local}@example.com", f"{local.upper()}@example.com",
            f" {local.title()}@Example.COM ", f"{local}@EXAMPLE.com\n"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_subscribes_of_one_address_make_one_subscriber():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes writers, so there is no race to test")
    make_series(slug="moving-well")
    threads_per_round, rounds = 8, 3
    errors: list[BaseException] = []
    for round_number in range(rounds):
        spellings = variants(f"round{round_number}-ann")
        barrier = threading.Barrier(threads_per_round)

        def join(n: int, spellings=spellings, barrier=barrier):
            try:
                barrier.wait(timeout=10)
                subscriber_subscribe(
                    email=spellings[n % len(spellings)],
                    series_slugs=["moving-well"],
                    consent_text="I agree",
                    form_id="race",
                )
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=join, args=(n,)) for n in range(threads_per_round)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors, errors
    emails = list(Subscriber.objects.order_by("email").values_list("email", flat=True))
    assert emails == [f"round{n}-ann@example.com" for n in range(rounds)]
    # Every request's consent is kept, each on the one row.
    assert ConsentRecord.objects.count() == threads_per_round * rounds
