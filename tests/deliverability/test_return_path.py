"""VERP: the envelope sender of each local delivery names it, signed; the sink sees it."""

import pytest
from django.utils import timezone

from pipeline.campaigns.models import Delivery
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.return_path import (
    delivery_id_from_return_path,
    find_return_paths,
    return_path,
)
from pipeline.campaigns.services.sending import campaign_send
from tests.support.envelopes import EnvelopeHandler
from tests.support.factories import make_offer
from tests.support.smtp_sink import SmtpSink, use_smtp_server
from tests.support.subscribers import make_subscribers

pytestmark = pytest.mark.django_db


def test_return_path_round_trip_and_shape():
    address = return_path(123456)
    local, domain = address.split("@")
    assert domain == "partwork.example" and local.startswith("bounces+")
    assert len(local) <= 64 and local == local.lower()
    assert delivery_id_from_return_path(address) == 123456
    assert delivery_id_from_return_path(address.upper()) == 123456  # a server folded the case
    assert delivery_id_from_return_path(f"<{address}>") == 123456
    assert find_return_paths(f"To: {address}\nfoo {address} bar") == [address]


def test_forged_or_foreign_return_paths_name_no_delivery(settings):
    address = return_path(77)
    token = address.split("+", 1)[1].split("@")[0]
    ident, signature = token.split(".")
    forged = f"bounces+{ident[:-1]}1.{signature}@partwork.example"
    assert delivery_id_from_return_path(forged) is None
    assert delivery_id_from_return_path(address.replace("partwork.example", "other.example")) \
        is None
    assert delivery_id_from_return_path(address.replace("bounces+", "returns+")) is None
    assert delivery_id_from_return_path("reader@example.com") is None
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]  # a rotation keeps old bounces mapped
    settings.SECRET_KEY = "another-key-" + "x7" * 30
    assert delivery_id_from_return_path(address) == 77
    assert return_path(77) != address


def test_each_smtp_delivery_goes_out_with_its_own_signed_return_path(series, settings):
    handler = EnvelopeHandler()
    with SmtpSink(handler) as sink:
        use_smtp_server(settings, sink.port)
        make_subscribers(6, series=[series])
        campaign = campaign_create_discount(offer=make_offer(), name="VERP", send_at=None)
        assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="ed").ok
        campaign_send(campaign_id=campaign.pk)
    deliveries = {d.email: d for d in Delivery.objects.filter(campaign=campaign)}
    assert len(handler.envelopes) == 6
    for envelope in handler.envelopes:
        delivery = deliveries[envelope.rcpt]
        assert envelope.mail_from == return_path(delivery.pk)
        assert delivery_id_from_return_path(envelope.mail_from) == delivery.pk
        assert envelope.message_id == delivery.message_id


def test_without_a_bounce_domain_the_envelope_sender_is_the_from_address(series, settings):
    settings.BOUNCE_DOMAIN = None
    handler = EnvelopeHandler()
    with SmtpSink(handler) as sink:
        use_smtp_server(settings, sink.port)
        make_subscribers(2, series=[series])
        campaign = campaign_create_discount(offer=make_offer(), name="Plain", send_at=None)
        assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="ed").ok
        campaign_send(campaign_id=campaign.pk)
    assert {e.mail_from for e in handler.envelopes} == {"news@partwork.localhost"}
