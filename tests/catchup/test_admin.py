"""The operator's view of catch-up campaigns at Mailchimp: listed with their stage and error,
and never edited or added by hand (the step owns them)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from pipeline.catchup.models import CampaignStage, CatchupCampaign
from tests.support.catchup import series_with_parts

pytestmark = pytest.mark.django_db


def test_catchup_campaigns_are_listed_read_only(client):
    series, parts = series_with_parts()
    now = timezone.now()
    failed = CatchupCampaign.objects.create(
        series=series, part=parts[0], day=now.date(), stage=CampaignStage.FAILED,
        created_at=now, updated_at=now, error="Mailchimp refused the send: compliance hold")
    client.force_login(get_user_model().objects.create_superuser("ops", "ops@example.com", "pw"))
    urls = "wagtailsnippets_catchup_catchupcampaign"
    listing = client.get(reverse(f"{urls}:list"))
    assert listing.status_code == 200
    assert b"compliance hold" in listing.content and b"Failed" in listing.content
    assert client.get(reverse(f"{urls}:inspect", args=[failed.pk])).status_code == 200
    edit = client.post(reverse(f"{urls}:edit", args=[failed.pk]),
                       {"stage": CampaignStage.SENT, "error": ""})
    assert edit.status_code in (302, 403)  # refused: Wagtail redirects with a message
    assert client.get(reverse(f"{urls}:add")).status_code in (302, 403)
    failed.refresh_from_db()
    assert failed.stage == CampaignStage.FAILED
    assert CatchupCampaign.objects.count() == 1
