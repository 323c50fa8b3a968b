"""An editor writes parts in the Wagtail admin, in a real browser."""

import pytest

from cms.models import PartPage
from tests.support.factories import make_part, make_series

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_editor_adds_a_part_and_gets_the_next_number(logged_in, live_server, screenshot):
    series = make_series(title="Strong Back", slug="strong-back")
    make_part(series, title="One")
    page = logged_in
    page.goto(f"{live_server.url}/admin/pages/add/cms/partpage/{series.pk}/")
    page.fill("#id_title", "Why the hips matter")
    page.press("#id_title", "Tab")  # Wagtail fills the slug from the title when it loses focus
    page.wait_for_function("document.querySelector('#id_slug').value !== ''")
    page.fill("#id_standfirst", "Stiff hips make the back work harder.")
    page.click("button[type=submit]:has-text('Save draft')")
    page.wait_for_url("**/admin/pages/*/edit/")  # Wagtail opens the new page's editor
    screenshot("admin-part-saved")
    part = PartPage.objects.get(title="Why the hips matter")
    assert (part.part_number, part.live) == (2, False)


def test_a_taken_number_is_refused_in_the_admin_with_a_message(logged_in, live_server):
    series = make_series(title="Strong Back", slug="strong-back")
    make_part(series, title="One")
    page = logged_in
    page.goto(f"{live_server.url}/admin/pages/add/cms/partpage/{series.pk}/")
    page.fill("#id_title", "Clash")
    page.press("#id_title", "Tab")
    page.wait_for_function("document.querySelector('#id_slug').value !== ''")
    page.fill("#id_part_number", "1")
    page.click("button[type=submit]:has-text('Save draft')")
    page.wait_for_selector("text=Part 1 already exists in this series")
    assert not PartPage.objects.filter(title="Clash").exists()
