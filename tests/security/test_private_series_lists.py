"""Issue 12, item 1 (leftover): a series behind a Wagtail view restriction is not listed to
subscribers or to Mailchimp. The preferences page does not show it, the subscribe and
preferences endpoints do not take it, and the audience sync makes no Mailchimp interest for it
(Mailchimp shows interests on its own forms and preference centre)."""


import pytest

from pipeline.audience.models import MailchimpSeriesInterest
from pipeline.audience.services.sync import audience_sync
from pipeline.subscribers.models import Subscriber, SubscriberStatus
from pipeline.subscribers.services import subscriber_preferences_url
from tests.support.factories import make_series
from tests.support.mailchimp import fast_client
from tests.support.pages import restrict
from tests.support.subscribers import link_path, make_subscribers, subscribe

pytestmark = pytest.mark.django_db
SECRET_TITLE = "Members' Secret Programme"
KINDS = ["password", "login", "groups"]




@pytest.fixture
def series():
    public = make_series(title="Moving Well", slug="moving-well")
    secret = make_series(title=SECRET_TITLE, slug="members-secret")
    return public, secret


@pytest.mark.parametrize("kind", KINDS)
def test_preferences_do_not_list_a_restricted_series(client, series, kind):
    public, secret = series
    restrict(secret, kind)
    member = Subscriber.objects.create(email="ann@example.com",
                                       status=SubscriberStatus.SUBSCRIBED)
    member.series.add(public)
    path = link_path(subscriber_preferences_url(member))

    response = client.get(path)

    assert response.status_code == 200
    assert [s["slug"] for s in response.json()["series"]] == ["moving-well"]
    assert SECRET_TITLE not in response.content.decode()
    chosen = client.put(path, {"series": ["members-secret"]}, content_type="application/json")
    assert chosen.status_code == 400
    assert list(member.series.values_list("slug", flat=True)) == ["moving-well"]


@pytest.mark.parametrize("kind", KINDS)
def test_subscribing_to_a_restricted_series_is_refused(client, series, kind):
    restrict(series[1], kind)
    response = subscribe(client, "probe@example.net", series=["members-secret"])
    assert response.status_code == 400
    assert not Subscriber.objects.filter(email="probe@example.net").exists()


def test_the_audience_sync_makes_no_interest_for_a_restricted_series(
        series, mailchimp_settings):
    public, secret = series
    make_subscribers(3, series=[public, secret])  # followed before the restriction was added
    restrict(secret, "login")

    audience_sync(client_factory=fast_client, outage_sleep=lambda seconds: None)

    assert set(MailchimpSeriesInterest.objects.values_list("series_id", flat=True)) == {
        public.pk}
    state = mailchimp_settings.emulator.state
    names = {i["name"] for i in state.audience(mailchimp_settings.list_id).interests.values()}
    assert names == {"Moving Well"}
