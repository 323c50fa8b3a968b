"""The web version token migration: existing campaigns (sent ones included) each get their own
random token, and the column is then unique and required."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from pipeline.campaigns.models import Campaign

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = ("campaigns", "0002_part_deletion_keeps_sent_campaigns")


@pytest.fixture
def back_to_latest_afterwards():
    """Whatever happens, the database ends at the latest migration, as other tests expect."""
    try:
        yield
    finally:
        call_command("migrate", interactive=False, verbosity=0)


def test_existing_campaigns_get_distinct_random_tokens(back_to_latest_afterwards):
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = MigrationExecutor(connection).loader.project_state([BEFORE]).apps
    OldCampaign = old.get_model("campaigns", "Campaign")
    now = timezone.now()
    for n in range(3):
        OldCampaign.objects.create(
            kind="announcement", status="sent", name=f"sent {n}", sent_subject=f"S{n}",
            sent_html="<p>copy</p>", send_requested_at=now, sent_at=now)
    OldCampaign.objects.create(kind="announcement", status="draft", name="draft")

    call_command("migrate", interactive=False, verbosity=0)  # as an operator upgrades

    tokens = list(Campaign.objects.values_list("web_token", flat=True))
    assert len(tokens) == 4 and len(set(tokens)) == 4
    assert all(len(t) == 43 for t in tokens)  # secrets.token_urlsafe(32)
    ids = {str(pk) for pk in Campaign.objects.values_list("pk", flat=True)}
    assert not ids & set(tokens)
    first = Campaign.objects.order_by("pk").first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.filter(pk=first.pk + 1).update(web_token=first.web_token)
