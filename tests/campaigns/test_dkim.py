"""DKIM: every local campaign email is signed, and so are one-off emails (confirmations,
welcomes, test sends); what the SMTP sink receives verifies with dkimpy against the public key
(its DNS lookup answered with the test's key record)."""

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from pipeline.campaigns.models import CampaignStatus
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.local import LocalDelivery
from pipeline.campaigns.services.rendering import campaign_render
from pipeline.campaigns.services.sending import campaign_send
from pipeline.providers.base import TransactionalEmail
from pipeline.providers.campaign_email import configured_signer
from pipeline.providers.dkim_signing import DkimConfigurationError, public_key_record
from pipeline.providers.local import LocalProvider
from tests.support.factories import make_offer
from tests.support.smtp_sink import KeepingHandler, SmtpSink, use_smtp_server
from tests.support.subscribers import make_subscribers

pytestmark = pytest.mark.django_db


@pytest.fixture
def dkim_key(tmp_path, settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    settings.DKIM_PRIVATE_KEY_FILE = str(path)
    settings.DKIM_SELECTOR = "pw2026"
    settings.DKIM_DOMAIN = "partwork.example"
    return key


def _send(series, settings, count):
    make_subscribers(count, series=[series])
    offer = make_offer(code="corrective", percent_off=35)
    campaign = campaign_create_discount(offer=offer, name="Signed", send_at=None)
    assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor").ok
    with SmtpSink(KeepingHandler()) as sink:
        use_smtp_server(settings, sink.port)
        assert campaign_send(campaign_id=campaign.pk) == CampaignStatus.SENT
    return sink.handler.raw


def test_every_message_the_sink_received_verifies_against_the_public_key(
        series, settings, dkim_key):
    record = public_key_record(dkim_key)
    asked = []

    def dnsfunc(name, timeout=5):
        asked.append(name)
        return record if name == b"pw2026._domainkey.partwork.example." else None

    received = _send(series, settings, 12)
    assert len(received) == 12
    for raw in received:
        assert raw.startswith(b"DKIM-Signature: ")
        signature = dkim.DKIM(raw)
        assert signature.verify(dnsfunc=dnsfunc), raw[:600]
        signed = set(signature.include_headers)
        # RFC 8058: one-click unsubscribe needs both headers under a valid signature.
        assert {b"from", b"to", b"subject", b"message-id", b"list-unsubscribe",
                b"list-unsubscribe-post"} <= signed
        assert signature.domain == b"partwork.example" and signature.selector == b"pw2026"
    assert set(asked) == {b"pw2026._domainkey.partwork.example."}

    # The check can fail: a changed body, a changed recipient, another key.
    raw = received[0]
    assert not dkim.verify(raw.replace(b"corrective", b"CORRECTIVE", 1), dnsfunc=dnsfunc)
    header_end = raw.index(b"\r\n\r\n")
    to_line = raw.index(b"\r\nTo: ") + 2
    assert to_line < header_end
    tampered = raw[:to_line] + b"To: someone-else@example.com\r\nX-Was" + raw[to_line + 2:]
    assert not dkim.verify(tampered, dnsfunc=dnsfunc)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert not dkim.verify(raw, dnsfunc=lambda name, timeout=5: public_key_record(other))


def test_unsigned_when_no_key_is_set(series, settings):
    assert settings.DKIM_PRIVATE_KEY_FILE is None
    received = _send(series, settings, 2)
    assert len(received) == 2
    assert not any(b"DKIM-Signature" in raw for raw in received)


def test_a_key_that_cannot_sign_is_refused_in_words(series, settings, tmp_path):
    path = tmp_path / "not-a-key.pem"
    path.write_text("-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----\n")
    settings.DKIM_PRIVATE_KEY_FILE = str(path)
    with pytest.raises(DkimConfigurationError, match="DKIM_PRIVATE_KEY_FILE"):
        configured_signer()


def test_one_off_emails_are_signed_too(series, settings, dkim_key):
    """A confirmation (LocalProvider) and a campaign's test send leave signed as well."""
    record = public_key_record(dkim_key)

    def dnsfunc(name, timeout=5):
        return record if name == b"pw2026._domainkey.partwork.example." else None

    offer = make_offer(code="corrective", percent_off=35)
    campaign = campaign_create_discount(offer=offer, name="Tested", send_at=None)
    with SmtpSink(KeepingHandler()) as sink:
        use_smtp_server(settings, sink.port)
        LocalProvider().send_transactional(TransactionalEmail(
            to="reader@example.com", subject="Confirm", text="Click the link.",
            html="<p>Click the link.</p>"))
        LocalDelivery().send_test(campaign=campaign, rendered=campaign_render(campaign=campaign),
                                  emails=["editor@example.com"])
    assert len(sink.handler.raw) == 2
    for raw in sink.handler.raw:
        assert raw.startswith(b"DKIM-Signature: ")
        assert dkim.verify(raw, dnsfunc=dnsfunc), raw[:600]
    assert not dkim.verify(sink.handler.raw[0].replace(b"Click", b"Clack", 1), dnsfunc=dnsfunc)
