"""Amazon SES (through SNS) and Postmark webhooks over real HTTP (live_server), with a local
SNS stand-in serving its signing certificate; and every attack we know, refused with nothing
recorded: forged signature, replay, stale timestamp, wrong topic, certificate or SubscribeURL
on a host that is not allowed, Postmark without or with wrong basic auth."""

import base64
import datetime
import json
import re

import pytest
import requests

from pipeline.campaigns.services.return_path import return_path
from pipeline.deliverability.models import DeliverabilityEvent, EventKind, SnsMessage
from pipeline.subscribers.models import ConsentSource, SubscriberStatus
from tests.support.bounces import delivered
from tests.support.sns import TOPIC, FakeSns, ses_bounce, ses_complaint, signing_pair
from tests.support.subscribers import make_subscribers

pytestmark = pytest.mark.django_db(transaction=True)
POSTMARK_AUTH = "postmark:correct-horse-battery"


@pytest.fixture
def sns(settings):
    with FakeSns() as fake:
        settings.SES_SNS_TOPIC_ARNS = [TOPIC]
        settings.SES_SNS_CERT_URL_PATTERN = re.escape(fake.origin) + "/"
        yield fake


def _post_sns(live_server, message: dict) -> requests.Response:
    return requests.post(f"{live_server.url}/hooks/ses/", data=json.dumps(message),
                         headers={"Content-Type": "text/plain; charset=UTF-8",
                                  "x-amz-sns-message-type": message.get("Type", "")},
                         timeout=10)


@pytest.mark.parametrize("version", ["1", "2"])
def test_ses_bounces_and_complaints_through_sns_are_recorded_and_applied(
        live_server, sns, sent_campaign, version):
    hard, soft, complainer = make_subscribers(3)
    deliveries = [delivered(sent_campaign, reader) for reader in (hard, soft, complainer)]
    answers = [
        _post_sns(live_server, sns.notification(ses_bounce(
            recipient=hard.email, source=return_path(deliveries[0].pk)), version=version)),
        _post_sns(live_server, sns.notification(ses_bounce(
            recipient=soft.email, source="news@partwork.example", hard=False,
            message_id=deliveries[1].message_id), version=version)),
        _post_sns(live_server, sns.notification(ses_complaint(
            recipient=complainer.email, source=return_path(deliveries[2].pk)), version=version)),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    events = {e.delivery_id: e for e in DeliverabilityEvent.objects.all()}
    assert events[deliveries[0].pk].kind == EventKind.HARD_BOUNCE
    assert events[deliveries[1].pk].kind == EventKind.SOFT_BOUNCE  # mapped by Message-ID
    assert events[deliveries[2].pk].kind == EventKind.COMPLAINT
    for reader, status in ((hard, SubscriberStatus.CLEANED), (soft, SubscriberStatus.SUBSCRIBED),
                           (complainer, SubscriberStatus.UNSUBSCRIBED)):
        reader.refresh_from_db()
        assert reader.status == status
    assert complainer.consents.get().source == ConsentSource.FEEDBACK
    assert sns.cert_fetches == 1  # fetched once, then cached


def test_subscription_confirmation_is_confirmed_by_get(live_server, sns):
    answer = _post_sns(live_server, sns.subscription())
    assert answer.status_code == 200 and answer.json()["outcome"] == "subscription-confirmed"
    assert len(sns.confirmations) == 1


def _refused(live_server, message, status=403):
    before = DeliverabilityEvent.objects.count()
    answer = _post_sns(live_server, message)
    assert answer.status_code == status, answer.text
    assert DeliverabilityEvent.objects.count() == before
    return answer


def test_sns_attacks_are_refused_and_record_nothing(live_server, sns, sent_campaign, settings):
    (reader,) = make_subscribers(1)
    delivery = delivered(sent_campaign, reader)
    bounce = ses_bounce(recipient=reader.email, source=return_path(delivery.pk))

    # Forged: signed by another key, with the real certificate's URL.
    other_key, _ = signing_pair()
    forged = sns.sign(sns.envelope("Notification", Message=json.dumps(bounce)), key=other_key)
    assert "does not verify" in _refused(live_server, forged).json()["detail"]
    # Tampered after signing.
    genuine = sns.notification(bounce)
    tampered = {**genuine, "Message": genuine["Message"].replace("Permanent", "Transient")}
    _refused(live_server, tampered)
    # Stale (a recording replayed later) and from the future.
    old = datetime.datetime.now(datetime.UTC) - settings.SES_SNS_MAX_AGE - datetime.timedelta(
        minutes=1)
    assert "too old" in _refused(
        live_server, sns.notification(bounce, timestamp=old)).json()["detail"]
    # Another topic (someone else's SNS topic pointed at our URL), even correctly signed.
    _refused(live_server, sns.notification(bounce, topic="arn:aws:sns:eu-west-1:666:theirs"))
    # A certificate on a host that is not allowed (an attacker's own key and certificate).
    with FakeSns(host="localhost") as attacker:
        message = attacker.sign(attacker.envelope("Notification", Message=json.dumps(bounce)))
        assert "allowed SNS host" in _refused(live_server, message).json()["detail"]
        assert attacker.cert_fetches == 0
        subscription = sns.subscription(subscribe_origin=attacker.origin)
        _refused(live_server, subscription)
        assert attacker.confirmations == [] and sns.confirmations == []
    # Unsigned, and not JSON at all.
    unsigned = {k: v for k, v in genuine.items() if k != "Signature"}
    _refused(live_server, unsigned)
    assert requests.post(f"{live_server.url}/hooks/ses/", data=b"not json",
                         timeout=10).status_code == 403
    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.SUBSCRIBED
    assert not SnsMessage.objects.exists()

    # Replay: the genuine message once, then again.
    assert _post_sns(live_server, genuine).status_code == 200
    assert DeliverabilityEvent.objects.count() == 1
    assert "received before" in _refused(live_server, genuine, status=409).json()["detail"]


def test_sns_is_off_until_a_topic_is_configured(live_server, settings):
    settings.SES_SNS_TOPIC_ARNS = []
    assert requests.post(f"{live_server.url}/hooks/ses/", data=b"{}",
                         timeout=10).status_code == 404


def _postmark(live_server, record: dict, auth: str | None = POSTMARK_AUTH, raw_header=None):
    headers = {"Content-Type": "application/json"}
    if raw_header is not None:
        headers["Authorization"] = raw_header
    elif auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    return requests.post(f"{live_server.url}/hooks/postmark/", data=json.dumps(record),
                         headers=headers, timeout=10)


def _postmark_record(email: str, kind: str, record_id: int) -> dict:
    record_type = "SpamComplaint" if kind == "SpamComplaint" else "Bounce"
    return {"RecordType": record_type, "ID": record_id, "Type": kind, "TypeCode": 1,
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "MessageStream": "outbound",
            "Description": "The server was unable to deliver your message.",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
            "Email": email, "From": "news@partwork.example",
            "BouncedAt": datetime.datetime.now(datetime.UTC).isoformat(), "Inactive": True}


def test_postmark_bounce_and_spam_complaint_webhooks(live_server, settings, sent_campaign):
    settings.POSTMARK_WEBHOOK_AUTH = POSTMARK_AUTH
    hard, complainer, auto = make_subscribers(3)
    delivered(sent_campaign, hard)
    assert _postmark(live_server, _postmark_record(hard.email, "HardBounce", 1)).status_code \
        == 200
    assert _postmark(live_server, _postmark_record(hard.email, "HardBounce", 1)).json() == {
        "outcome": "duplicate"}  # Postmark retried
    assert _postmark(live_server, _postmark_record(complainer.email, "SpamComplaint", 2)
                     ).status_code == 200
    assert _postmark(live_server, _postmark_record(auto.email, "AutoResponder", 3)
                     ).json()["outcome"].startswith("ignored")
    hard.refresh_from_db()
    complainer.refresh_from_db()
    auto.refresh_from_db()
    assert (hard.status, complainer.status, auto.status) == (
        SubscriberStatus.CLEANED, SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.SUBSCRIBED)
    event = DeliverabilityEvent.objects.get(subscriber=hard)
    assert event.campaign_id == sent_campaign.pk  # its latest delivery
    assert DeliverabilityEvent.objects.count() == 2


@pytest.mark.parametrize("auth,raw_header", [
    (None, None),  # no credentials
    ("postmark:wrong", None),
    ("other:correct-horse-battery", None),
    ("postmark:correct-horse-battery-and-more", None),
    (None, "Basic not-base64!"),
    (None, "Bearer correct-horse-battery"),
])
def test_postmark_without_the_right_basic_auth_is_refused(live_server, settings, auth,
                                                          raw_header):
    settings.POSTMARK_WEBHOOK_AUTH = POSTMARK_AUTH
    (reader,) = make_subscribers(1)
    answer = _postmark(live_server, _postmark_record(reader.email, "HardBounce", 9),
                       auth=auth, raw_header=raw_header)
    assert answer.status_code == 401 and "Basic" in answer.headers["WWW-Authenticate"]
    assert not DeliverabilityEvent.objects.exists()
    reader.refresh_from_db()
    assert reader.status == SubscriberStatus.SUBSCRIBED


def test_postmark_is_off_until_configured(live_server, settings):
    settings.POSTMARK_WEBHOOK_AUTH = None
    answer = _postmark(live_server, _postmark_record("a@example.com", "HardBounce", 1))
    assert answer.status_code == 404
