"""Local campaign delivery against SMTP servers that misbehave on purpose (aiosmtpd on loopback,
real PostgreSQL, no mocks): what each kind of refusal or cut connection does to the ledger, and
that nobody gets a second copy. Each test counts the copies every recipient got at the sink.

The sending threads build and hand over messages only; the ledger is written by the calling
thread. The autouse fixture below proves it (no sending thread ever opens a database
connection), which is why these tests can run inside the test's transaction.
"""

import email
import re
import threading
from email import policy

import pytest
from django.db.backends.signals import connection_created
from django.utils import timezone

from pipeline.campaigns.models import CampaignStatus, Delivery, DeliveryState
from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
from pipeline.campaigns.services.sending import campaign_send
from pipeline.providers.message import RenderedEmail, personalize
from tests.support.factories import make_offer
from tests.support.smtp_faults import FaultySmtpSink
from tests.support.smtp_sink import use_smtp_server
from tests.support.subscribers import make_subscribers

S = CampaignStatus
D = DeliveryState
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sending_threads_never_touch_the_database():
    opened_by = []

    def record(sender, connection, **kwargs):
        opened_by.append(threading.current_thread().name)

    connection_created.connect(record)
    yield
    connection_created.disconnect(record)
    assert not [name for name in opened_by if name.startswith("smtp")], opened_by


def _sink(settings, **options) -> FaultySmtpSink:
    sink = FaultySmtpSink(**options)
    use_smtp_server(settings, sink.port)
    return sink


@pytest.fixture(params=[False, True], ids=["lockstep", "pipelining"])
def sink(settings, request):
    """Every test here runs against a server without PIPELINING and one offering it."""
    with _sink(settings, pipelining=request.param) as sink:
        yield sink


def _campaign(series, readers: int, **fields):
    make_subscribers(readers, series=[series])
    offer = make_offer(code="corrective", percent_off=35)
    campaign = campaign_create_discount(offer=offer, name="Corrective week", send_at=None,
                                        subject="Corrective week: 35% off", **fields)
    answer = campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="editor")
    assert answer.ok, answer.message
    return campaign


def _states(campaign) -> dict[str, str]:
    return dict(Delivery.objects.filter(campaign=campaign).values_list("email", "state"))


def _copies(sink: FaultySmtpSink, campaign) -> dict[str, int]:
    """How many copies of this campaign each of its recipients got."""
    campaign.refresh_from_db()
    got = {address: 0 for address in _states(campaign)}
    for (subject, rcpt), count in sink.handler.copies.items():
        if subject == campaign.sent_subject:
            got[rcpt] = got.get(rcpt, 0) + count
    return got


def _reader(number: int) -> str:
    return f"reader{number}@example.com"


def _assert_everyone_once(sink, campaign, *, expected_failed=()) -> None:
    copies, states = _copies(sink, campaign), _states(campaign)
    for address, state in states.items():
        if address in expected_failed:
            assert (state, copies[address]) == (D.FAILED, 0), address
        else:
            assert (state, copies[address]) == (D.SENT, 1), address


@pytest.mark.parametrize(("stage", "reply"), [("RCPT TO", "550 5.1.1 No such user here"),
                                              ("the message", "554 5.7.1 Message refused")])
def test_a_permanent_refusal_fails_that_row_only(series, sink, stage, reply):
    campaign = _campaign(series, 10)
    if stage == "RCPT TO":
        sink.handler.refuse_rcpt(_reader(4), reply)
    else:
        sink.handler.data_refusals[_reader(4)] = reply
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    _assert_everyone_once(sink, campaign, expected_failed={_reader(4)})
    error = Delivery.objects.get(campaign=campaign, email=_reader(4)).error
    assert error == f"SMTP refused {stage}: {reply}"
    assert "failed 1" in campaign.transitions.last().reason


@pytest.mark.parametrize("reply", ["451 4.3.0 Try again later", "421 4.3.2 Closing, try later"])
def test_a_temporary_refusal_puts_the_row_back_and_a_later_send_finishes(series, sink, reply):
    campaign = _campaign(series, 12)
    sink.handler.refuse_rcpt(_reader(2), reply, times=1)
    assert campaign_send(campaign_id=campaign.pk) == S.SEND_REQUESTED
    campaign.refresh_from_db()
    assert campaign.status == S.SEND_REQUESTED and campaign.claimed_until is None
    assert reply.split()[0] in campaign.last_error
    states, copies = _states(campaign), _copies(sink, campaign)
    assert states[_reader(2)] == D.PENDING and copies[_reader(2)] == 0
    assert set(states.values()) <= {D.SENT, D.PENDING}
    assert all(copies[a] == (1 if s == D.SENT else 0) for a, s in states.items())

    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    _assert_everyone_once(sink, campaign)
    assert campaign_send(campaign_id=campaign.pk) == S.SENT  # nothing more goes out
    _assert_everyone_once(sink, campaign)


def test_cut_off_before_the_verdict_is_uncertain_and_never_resent(series, sink):
    campaign = _campaign(series, 12)
    sink.handler.hang_up_before_verdict.add(_reader(5))  # every time: a resend would show
    assert campaign_send(campaign_id=campaign.pk) == S.SEND_REQUESTED
    row = Delivery.objects.get(campaign=campaign, email=_reader(5))
    assert row.state == D.UNCERTAIN and "lost" in row.error

    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    copies, states = _copies(sink, campaign), _states(campaign)
    assert copies[_reader(5)] == 1  # the server has it; the ledger says it may
    assert states.pop(_reader(5)) == D.UNCERTAIN
    assert set(states.values()) == {D.SENT} and all(copies[a] == 1 for a in states)
    assert "uncertain 1" in campaign.transitions.last().reason


def test_cut_off_at_mail_from_is_not_uncertain(series, sink):
    campaign = _campaign(series, 12)
    sink.handler.hang_up_at_mail.add(3)
    assert campaign_send(campaign_id=campaign.pk) == S.SEND_REQUESTED
    campaign.refresh_from_db()
    assert "lost before the message went out" in campaign.last_error
    states, copies = _states(campaign), _copies(sink, campaign)
    assert D.PENDING in states.values()
    assert set(states.values()) <= {D.SENT, D.PENDING}, states
    assert all(copies[a] == (1 if s == D.SENT else 0) for a, s in states.items())

    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    _assert_everyone_once(sink, campaign)


@pytest.mark.parametrize("per_session", [1000, 3])
def test_a_server_capping_sessions_still_gets_everything(series, settings, per_session):
    """Four sessions asked for, the third turned away with 421: two carry it all, renewed
    every few messages too (the cap must count a closed session as gone)."""
    settings.CAMPAIGN_SMTP_MESSAGES_PER_CONNECTION = per_session
    with _sink(settings, max_sessions=2) as sink:
        campaign = _campaign(series, 20)
        assert campaign_send(campaign_id=campaign.pk) == S.SENT
        _assert_everyone_once(sink, campaign)
    assert sink.handler.turned_away >= 1 and sink.handler.most_active == 2


def test_sessions_are_renewed_after_the_messages_per_connection(series, sink, settings):
    settings.CAMPAIGN_SMTP_MESSAGES_PER_CONNECTION = 5
    campaign = _campaign(series, 23)
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    _assert_everyone_once(sink, campaign)
    assert sink.handler.sessions >= 5 and sink.handler.most_per_session == 5


def test_lines_starting_with_a_dot_arrive_intact(series, sink, settings):
    settings.DEFAULT_FROM_EMAIL = "Partwork Café <news@partwork.example>"
    campaign = _campaign(series, 3, message="<p>.A line that starts with a dot.</p><p>.</p>"
                                            "<p>..Two dots.</p><p>Straße, naïve.</p>")
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    _assert_everyone_once(sink, campaign)
    assert sink.handler.senders == {"news@partwork.example"}
    campaign.refresh_from_db()
    sent = RenderedEmail(subject=campaign.sent_subject, preheader=campaign.sent_preheader,
                         html=campaign.sent_html, text=campaign.sent_text)
    for address in _states(campaign):
        (raw,) = sink.handler.received[address]
        message = email.message_from_bytes(raw, policy=policy.default)
        link = str(message["List-Unsubscribe"]).strip()[1:-1]
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        # The reader's preference link is signed at send time: read it back, check its form.
        preferences = re.search(r"^Manage preferences: (\S+)$", text, re.MULTILINE).group(1)
        assert preferences.startswith(settings.BASE_URL + "/preferences/")
        html_part, text_part = personalize(sent, unsubscribe_url=link,
                                           preferences_url=preferences)
        assert text == text_part
        assert {".A line that starts with a dot.", ".", "..Two dots."} <= set(text.split("\n"))
        html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
        assert html == html_part.replace("\r\n", "\n")
        assert str(message["From"]) == "Partwork Café <news@partwork.example>"


def test_a_refused_sender_fails_no_recipient(series, sink):
    """A refusal at MAIL FROM is about us (the sender, the login), not about the reader: the run
    stops with the rows still pending and the campaign is released, to go out once fixed."""
    campaign = _campaign(series, 12)
    sink.handler.mail_reply = "530 5.7.0 Authentication required"
    assert campaign_send(campaign_id=campaign.pk) == S.SEND_REQUESTED
    campaign.refresh_from_db()
    assert "530 5.7.0 Authentication required" in campaign.last_error
    assert set(_states(campaign).values()) == {D.PENDING}
    assert sink.handler.total == 0

    sink.handler.mail_reply = "250 OK"  # the operator fixes the login
    assert campaign_send(campaign_id=campaign.pk) == S.SENT
    _assert_everyone_once(sink, campaign)


def test_a_server_turning_every_session_away_changes_nothing(series, settings):
    with _sink(settings, max_sessions=0) as sink:
        campaign = _campaign(series, 5)
        assert campaign_send(campaign_id=campaign.pk) == S.SEND_REQUESTED
    campaign.refresh_from_db()
    assert "421" in campaign.last_error and campaign.claimed_until is None
    assert set(_states(campaign).values()) == {D.PENDING}
    assert sink.handler.turned_away >= 1 and sink.handler.total == 0



def _commands_per_read(sink) -> list[tuple[bool, bool, bool]]:
    """For each read holding a MAIL FROM: whether RCPT TO and DATA came in the same read."""
    return [(True, b"RCPT TO:" in chunk, b"DATA\r\n" in chunk)
            for chunk in sink.handler.chunks if chunk.startswith(b"MAIL FROM:")]


@pytest.mark.parametrize("pipelining", [False, True])
def test_commands_are_pipelined_only_when_the_server_offers_it(series, settings, pipelining):
    with _sink(settings, pipelining=pipelining) as sink:
        campaign = _campaign(series, 10)
        assert campaign_send(campaign_id=campaign.pk) == S.SENT
        _assert_everyone_once(sink, campaign)
    reads = _commands_per_read(sink)
    assert len(reads) == 10
    # Offered: MAIL, RCPT and DATA in one write each time; else each waits for its reply.
    assert set(reads) == {(True, True, True) if pipelining else (True, False, False)}


@pytest.mark.parametrize("pipelining", [False, True])
def test_sessions_cut_mid_window_leave_at_most_the_window_uncertain(series, settings,
                                                                      pipelining):
    """Several sessions cut while their message's verdict is awaited, in one window: each cut
    message is uncertain (never resent); the rest go once, over the runs that follow."""
    settings.CAMPAIGN_LEDGER_WINDOW = 8
    cut = {_reader(number) for number in range(2, 8)}
    with _sink(settings, pipelining=pipelining) as sink:
        campaign = _campaign(series, 30)
        sink.handler.hang_up_before_verdict.update(cut)  # every time: a resend would show
        for _ in range(len(cut) + 2):
            uncertain_before = Delivery.objects.filter(campaign=campaign,
                                                       state=D.UNCERTAIN).count()
            status = campaign_send(campaign_id=campaign.pk)
            uncertain = Delivery.objects.filter(campaign=campaign, state=D.UNCERTAIN).count()
            assert uncertain - uncertain_before <= 8
            if status == S.SENT:
                break
        assert status == S.SENT
        copies, states = _copies(sink, campaign), _states(campaign)
    assert all(count == 1 for count in copies.values()), copies
    assert {a for a, state in states.items() if state == D.UNCERTAIN} == cut
    assert {state for a, state in states.items() if a not in cut} == {D.SENT}
