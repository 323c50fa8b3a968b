"""How a bounce's status decides hard or soft, and messages that are not bounces at all."""

import pytest

from pipeline.deliverability.models import EventKind
from pipeline.deliverability.services.parsing import classify_status, parse_mailbox_message

K = EventKind


@pytest.mark.parametrize("status,text,expected", [
    ("5.1.1", "", K.HARD_BOUNCE),
    ("5.1.10", "", K.HARD_BOUNCE),
    ("5.2.1", "mailbox disabled", K.HARD_BOUNCE),
    ("5.2.2", "", K.SOFT_BOUNCE),  # mailbox full
    ("5.3.4", "", K.SOFT_BOUNCE),  # message too big
    ("5.7.1", "rejected as spam", K.SOFT_BOUNCE),  # the content or a policy, not the address
    ("4.4.1", "", K.SOFT_BOUNCE),
    ("", "Remote host said: 550 No such user", K.HARD_BOUNCE),
    ("", "552 Requested mail action aborted: exceeded storage", K.SOFT_BOUNCE),
    ("", "451 try again later", K.SOFT_BOUNCE),
    ("", "This is a permanent error; I've given up.", K.HARD_BOUNCE),
    ("", "The mailbox is full", K.SOFT_BOUNCE),
    ("2.0.0", "", None),
    ("", "Thanks for your email", None),
])
def test_classify_status(status, text, expected):
    assert classify_status(status, text) == expected


def test_a_not_spam_feedback_report_and_an_ordinary_reply_change_nothing():
    not_spam = (b"From: feedback@example.net\r\nTo: fbl@partwork.example\r\n"
                b"Subject: report\r\nMessage-ID: <r1@example.net>\r\nMIME-Version: 1.0\r\n"
                b'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n'
                b"\r\n--b\r\nContent-Type: text/plain\r\n\r\nA report.\r\n"
                b"--b\r\nContent-Type: message/feedback-report\r\n\r\n"
                b"Feedback-Type: not-spam\r\nVersion: 1\r\n\r\n--b--\r\n")
    parsed = parse_mailbox_message(not_spam)
    assert (parsed.kind, parsed.reports) == ("ignored", [])
    reply = (b"From: Reader <reader@example.com>\r\nTo: news@partwork.example\r\n"
             b"Subject: Re: 35% off\r\nMessage-ID: <r2@example.com>\r\n\r\nThanks!\r\n")
    parsed = parse_mailbox_message(reply)
    assert (parsed.kind, parsed.reports, parsed.key) == ("unrecognised", [], "<r2@example.com>")
