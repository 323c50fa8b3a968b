"""The management command and the Celery task call the same service."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from pipeline.audience.models import AudienceSyncRun, SyncRunState
from tests.support.mailchimp import batch_requests
from tests.support.subscribers import make_subscribers
from workers.tasks.audience import sync_audience

pytestmark = pytest.mark.django_db


def test_the_command_prints_a_summary(mailchimp_settings):
    make_subscribers(600)
    output = StringIO()
    call_command("sync_audience", "--concurrency", "3", stdout=output)
    text = output.getvalue()
    assert "members sent" in text and "600" in text
    assert "batches" in text and "HTTP requests" in text and "time" in text
    assert batch_requests(mailchimp_settings) == 2


def test_the_command_says_how_to_resume_after_an_outage(mailchimp_settings):
    make_subscribers(10)
    mailchimp_settings.control.add_fault("5xx", path=r"/lists/[^/]+$", method="POST",
                                         status=503)
    # One outage round (the wrapper's own retries, about 2 s of backoff), then it gives up.
    with pytest.raises(CommandError, match="again to resume"):
        call_command("sync_audience", "--no-progress", "--outage-attempts", "1",
                     stdout=StringIO())
    assert AudienceSyncRun.objects.get().state == SyncRunState.INTERRUPTED


def test_the_task_is_routed_to_the_mail_queue_and_syncs(mailchimp_settings):
    assert sync_audience.queue_name == "mail"  # the task names its queue (test_celery_config checks
    # on the broker that every task's message lands there)
    make_subscribers(20)
    result = sync_audience.apply(kwargs={"full": False}).get()
    assert result["members_sent"] == 20 and result["state"] == "finished"
    again = sync_audience.apply().get()
    assert again["members_sent"] == 0
