import pytest

from pipeline.providers.mailchimp_client import MailchimpClient


class Sleeps(list):
    """Records backoff delays instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(mailchimp_emulator, sleeps):
    return MailchimpClient(api_key=mailchimp_emulator.api_key, api_url=mailchimp_emulator.url,
                           list_id=mailchimp_emulator.list_id, timeout=5, sleep=sleeps,
                           rng=lambda: 1.0)
