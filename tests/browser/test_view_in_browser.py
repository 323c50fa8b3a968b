"""Issue 17, item 4, in a real browser: a reader opens a discount email that went out over SMTP
(captured by a real SMTP server on loopback), clicks "View this email in your browser", and reads
the web version: the email without its personal links; after the offer ends, without its code."""

import email
import email.policy
import threading
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from pipeline.campaigns.models import CampaignStatus
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.sending import campaign_send
from tests.support.factories import make_offer, make_series
from tests.support.smtp_sink import CountingHandler, SmtpSink, use_smtp_server
from tests.support.subscribers import make_subscribers

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
CODE = "STANDTALL40"


class KeepingHandler(CountingHandler):
    """Counts like the sink's handler and keeps every message, as the reader's mailbox would."""

    def __init__(self):
        super().__init__()
        self.messages: list[email.message.EmailMessage] = []
        self.keep_lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        with self.keep_lock:
            self.messages.append(email.message_from_bytes(envelope.content,
                                                          policy=email.policy.default))
        return answer


def test_reader_opens_the_web_version_from_the_sent_email(page, live_server, settings,
                                                          screenshot):
    settings.BASE_URL = live_server.url
    settings.EMAIL_PROVIDER = "local"
    series = make_series(title="Stand Tall", slug="stand-tall")
    make_subscribers(1, series=[series], prefix="reader")
    offer = make_offer(code=CODE, percent_off=40, name="Stand tall week",
                       ends_in=timedelta(days=2))
    handler = KeepingHandler()
    with SmtpSink(handler) as sink:
        use_smtp_server(settings, sink.port)
        campaign = campaign_create_discount(offer=offer, name="Stand tall", send_at=None)
        assert campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor").ok
        assert campaign_send(campaign_id=campaign.pk) == CampaignStatus.SENT
    (message,) = handler.messages
    assert message["To"] == "reader0@example.com"
    html_part = message.get_body(preferencelist=("html",)).get_content()
    assert "/api/subscribers/unsubscribe/" in html_part  # the reader's own copy is personal

    # The reader's mail client shows the email; they click the link at its top.
    page.set_content(html_part)
    with page.expect_navigation():
        page.click("text=View this email in your browser")
    assert page.url.startswith(f"{live_server.url}/email/")
    text = page.inner_text("body")
    screenshot("web-version-active")
    assert "40% off with code " + CODE in text and CODE in text
    assert "Unsubscribe" not in text and "View this email in your browser" not in text
    hrefs = page.eval_on_selector_all("a", "links => links.map(a => a.href)")
    assert not [h for h in hrefs if "/api/subscribers/" in h or "*|" in h or "%7C" in h.upper()]
    assert "1 Example Street" in text

    with time_machine.travel(offer.ends_at + timedelta(minutes=1), tick=False):
        page.reload()
        ended = page.inner_text("body")
        screenshot("web-version-offer-ended")
    assert "This offer has ended" in ended and CODE not in ended
    assert page.locator("[role=status]").inner_text().startswith("This offer has ended")
