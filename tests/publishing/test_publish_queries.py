"""What one publish asks the database: a regression guard on statement counts (not on time).

A part goes live through the on-time task's service (pipeline/publishing/services/on_time.py).
Beside Wagtail's own work, which a plain Wagtail page's publish shows, our code adds only: the
go-live read, the read of earlier due parts of the same series, the row lock, and the one-statement
announcement intent. bench/publish_latency.py prints the same comparison with where each statement
comes from.
"""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone
from wagtail.models import Page, PageLogEntry, Revision

from cms.models import PartPage
from pipeline.publishing.models import Announcement
from pipeline.publishing.services.on_time import revision_publish_on_time
from tests.support.factories import make_part, make_series, series_index
from tests.support.publishing import schedule_part
from tests.support.query_origins import statements_issued

pytestmark = pytest.mark.django_db

# Wagtail's chores (search and reference index) leave the publish on commit, as in production.
CHORES_ON_COMMIT = {"default": {"BACKEND": "workers.django_tasks_backend.CeleryBackend"}}
# Statements a due part's publish may take beyond a plain Wagtail page's: the four of ours above,
# a savepoint pair (Wagtail's save runs inside the transaction that holds our row lock), and the
# part's own table (its row is saved in two tables).
BEYOND_A_PLAIN_PAGE = 7


def due_revision(page) -> int:
    return Revision.objects.get(object_id=str(page.pk), approved_go_live_at__isnull=False).pk


def just_due(series, **fields) -> PartPage:
    return schedule_part(series, due_at=timezone.now() - timedelta(seconds=1), **fields)


def not_savepoints(statements) -> list[str]:
    return [s.what for s in statements if s.what not in ("SAVEPOINT", "RELEASE")]


def test_our_statements_in_a_publish_are_the_go_live_the_order_the_lock_and_the_intent(
    settings,
):
    settings.TASKS = CHORES_ON_COMMIT
    series = make_series()
    make_part(series)
    part = just_due(series)
    revision_id = due_revision(part)
    ContentType.objects.get_for_model(PartPage)  # cached in a running worker

    with statements_issued() as issued:
        assert revision_publish_on_time(revision_id=revision_id) == "published"

    assert not_savepoints(issued.ours) == [
        "SELECT wagtailcore_revision",  # the go-live time
        "SELECT wagtailcore_revision",  # earlier due parts of this series
        "SELECT wagtailcore_revision",  # the row lock
        "INSERT pipeline_announcement",  # the intent, one statement
    ]
    # Nothing about the series or the part number: the number is the stored one.
    assert not [s for s in issued.all if "cms_seriespage" in s.sql]
    assert not [s for s in issued.all if '"cms_partpage"."part_number" =' in s.sql]
    assert Announcement.objects.filter(part=part).count() == 1


def test_a_part_publishes_with_few_statements_more_than_a_plain_wagtail_page(
    settings, django_assert_max_num_queries
):
    settings.TASKS = CHORES_ON_COMMIT
    series = make_series()
    make_part(series)
    part = just_due(series)
    plain = series_index().add_child(instance=Page(title="Plain", live=False))
    plain.save_revision()
    plain_revision = Revision.objects.get(object_id=str(plain.pk))
    with statements_issued() as stock:
        plain_revision.publish()

    revision_id = due_revision(part)
    with django_assert_max_num_queries(len(stock) + BEYOND_A_PLAIN_PAGE):
        assert revision_publish_on_time(revision_id=revision_id) == "published"


def test_a_scheduled_number_taken_meanwhile_is_refused_with_the_message():
    series = make_series()
    make_part(series, part_number=1)
    part = make_part(series, part_number=2)
    part.part_number = 3
    part.go_live_at = timezone.now() + timedelta(hours=1)
    part.save_revision().publish()  # the change waits for its time
    make_part(series, part_number=3)  # someone takes 3 first
    revision = Revision.objects.get(pk=due_revision(part))

    with time_machine.travel(timezone.now() + timedelta(hours=2)), \
            pytest.raises(ValidationError) as raised:
        revision.publish(skip_permission_checks=True)
    assert "Part 3 already exists" in str(raised.value)


def test_an_on_time_publish_takes_earlier_due_parts_of_its_series_and_no_other():
    series, other = make_series(slug="mine"), make_series(slug="other")
    elsewhere = just_due(other)  # due too, and older, but another series
    first, second, third = (just_due(series, part_number=n) for n in (1, 2, 3))

    with statements_issued() as issued:
        assert revision_publish_on_time(revision_id=due_revision(third)) == "published"

    live = set(PartPage.objects.filter(live=True).values_list("pk", flat=True))
    assert {first.pk, second.pk, third.pk} <= live and elsewhere.pk not in live
    in_order = list(PageLogEntry.objects.filter(action="wagtail.publish.scheduled")
                    .order_by("pk").values_list("page_id", flat=True))
    assert in_order == [first.pk, second.pk, third.pk]
    # Three row locks: this series' three revisions; the other series' part was never touched.
    assert len([s for s in issued.all if "FOR UPDATE" in s.sql]) == 3
