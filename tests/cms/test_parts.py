from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from cms.models import PartPage, renumber_parts
from tests.support.factories import make_part, make_series

pytestmark = pytest.mark.django_db


def test_part_numbers_are_assigned_next_free_in_series():
    series, other = make_series(slug="a"), make_series(slug="b")
    first, second = make_part(series), make_part(series)
    elsewhere = make_part(other)
    assert (first.part_number, second.part_number, elsewhere.part_number) == (1, 2, 1)


def test_a_taken_part_number_is_refused_with_a_clear_message():
    series = make_series()
    make_part(series, part_number=3)
    clash = PartPage(title="Clash", part_number=3)
    with pytest.raises(ValidationError) as raised:
        series.add_child(instance=clash)
    assert "Part 3 already exists" in str(raised.value)


def test_the_database_refuses_duplicate_numbers_even_without_validation():
    series = make_series()
    first, second = make_part(series), make_part(series)
    with pytest.raises(IntegrityError), transaction.atomic():
        PartPage.objects.filter(pk=second.pk).update(part_number=first.part_number)


def test_renumbering_is_explicit_and_complete():
    series = make_series()
    a, b, c = make_part(series), make_part(series), make_part(series)
    renumber_parts(series=series, order=[c.pk, a.pk, b.pk])
    numbers = dict(PartPage.objects.values_list("pk", "part_number"))
    assert (numbers[c.pk], numbers[a.pk], numbers[b.pk]) == (1, 2, 3)
    with pytest.raises(ValidationError):
        renumber_parts(series=series, order=[a.pk, b.pk])


def test_navigation_skips_drafts_and_scheduled_parts():
    series = make_series()
    one = make_part(series)
    make_part(series, live=False)  # draft part 2
    make_part(series, go_live_at=timezone.now() + timedelta(days=1))  # scheduled part 3
    four = make_part(series)
    assert one.next_part() == four
    assert four.previous_part() == one
    assert one.previous_part() is None and four.next_part() is None
