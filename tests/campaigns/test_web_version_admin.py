"""The campaign page in the admin links a sent campaign's web version (and a draft's not)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.sending import campaign_send
from pipeline.campaigns.services.web_version import web_version_url
from tests.support.factories import make_offer
from tests.support.subscribers import make_subscribers

pytestmark = pytest.mark.django_db


def test_the_campaign_page_links_the_web_version_once_sent(client, django_user_model, series,
                                                           settings):
    settings.BASE_URL = "http://testserver"
    client.force_login(django_user_model.objects.create_superuser("boss", "b@example.org", "pw"))
    make_subscribers(1, series=[series])
    campaign = campaign_create_discount(offer=make_offer(code="ADMINLINK5"), name="Linked",
                                        send_at=None)
    manage = reverse("pipeline_campaign_manage", args=[campaign.pk])
    assert 'id="campaign-web-version"' not in client.get(manage).content.decode()

    assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="boss").ok
    assert campaign_send(campaign_id=campaign.pk) == "sent"
    campaign.refresh_from_db()
    page = client.get(manage).content.decode()
    assert f'id="campaign-web-version" href="/email/{campaign.web_token}/"' in page
    assert client.get(web_version_url(campaign)).status_code == 200
