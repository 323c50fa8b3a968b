import pytest

from pipeline.audience.services.sync import audience_sync
from pipeline.providers.mailchimp_client import MailchimpClient, RetryPolicy
from pipeline.subscribers.models import Subscriber, SubscriberStatus

BATCH_ROUTE = "POST /lists/{list_id}"


def fast_client(**overrides) -> MailchimpClient:
    """The real wrapper from settings, with short backoffs so fault tests stay quick."""
    options = {"retry": RetryPolicy(max_attempts=4, base_seconds=0.01, cap_seconds=0.05),
               "timeout": 2.0}
    options.update(overrides)
    return MailchimpClient.from_settings(**options)


@pytest.fixture
def sync(mailchimp_settings):
    """audience_sync against the emulator, with no outage waits."""
    def run(**options):
        options.setdefault("client_factory", fast_client)
        options.setdefault("outage_sleep", lambda seconds: None)
        return audience_sync(**options)
    return run


def make_subscribers(count: int, *, status=SubscriberStatus.SUBSCRIBED, series=(),
                     prefix="reader", **fields) -> list[Subscriber]:
    rows = Subscriber.objects.bulk_create(
        Subscriber(email=f"{prefix}{n:05d}@example.com", status=status, **fields)
        for n in range(count))
    rows = list(Subscriber.objects.filter(email__startswith=prefix).order_by("pk"))
    through = Subscriber.series.through
    through.objects.bulk_create(through(subscriber_id=s.pk, seriespage_id=page.pk)
                                for s in rows for page in series)
    return rows


def batch_requests(emulator) -> int:
    """Batch-subscribe calls the emulator applied (faulted ones are not counted)."""
    return emulator.control.stats()["by_route"].get(BATCH_ROUTE, 0)


