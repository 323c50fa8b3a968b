"""The reader's preference page in a real browser with JavaScript off: labels, fieldsets and
legends, keyboard use; follow, unfollow, catch up, leave everything."""

import pytest

from pipeline.catchup.models import CatchupProgress, ProgressState
from pipeline.subscribers.models import ConsentKind, SubscriberStatus
from pipeline.subscribers.services import subscriber_preferences_page_url
from tests.support.catchup import series_with_parts
from tests.support.factories import make_series
from tests.support.subscribers import link_path, make_member

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def no_js_page(browser):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 900,
                                                                        "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


def test_follow_unfollow_and_leave_everything_without_javascript(no_js_page, live_server,
                                                                   screenshot):
    series, _parts = series_with_parts()
    make_series(title="Eating Well", slug="eating-well")
    ann = make_member("ann@example.com", series)
    page = no_js_page
    url = live_server.url + link_path(subscriber_preferences_page_url(ann))
    page.goto(url)
    series_group = page.get_by_role("group", name="Series you follow")
    assert series_group.get_by_label("Moving Well").is_checked()
    assert not series_group.get_by_label("Eating Well").is_checked()
    catchup_group = page.get_by_role("group", name="Catch up on earlier parts")
    offer = catchup_group.get_by_label("Send me the earlier parts of Moving Well")
    assert "3 earlier parts to go, one every day" in catchup_group.inner_text()

    # Follow Eating Well with the keyboard, ask for catch-up with a click on the label, save.
    series_group.get_by_label("Eating Well").focus()
    page.keyboard.press("Space")
    catchup_group.get_by_text("Send me the earlier parts of Moving Well").click()
    assert offer.is_checked()
    page.get_by_role("button", name="Save preferences").click()
    status = page.get_by_role("status")
    assert status.inner_text() == "Your preferences are saved."
    assert page.evaluate("document.activeElement.id") == "saved"  # focus moved to the message
    screenshot("preferences-saved")
    assert set(ann.series.values_list("slug", flat=True)) == {"moving-well", "eating-well"}
    assert CatchupProgress.objects.get(subscriber=ann).state == ProgressState.ACTIVE

    # Unfollow Moving Well: its catch-up stops with it.
    page.get_by_role("group", name="Series you follow").get_by_label("Moving Well").uncheck()
    page.get_by_role("button", name="Save preferences").click()
    assert page.get_by_role("status").inner_text() == "Your preferences are saved."
    assert list(ann.series.values_list("slug", flat=True)) == ["eating-well"]
    assert CatchupProgress.objects.get(subscriber=ann).state == ProgressState.STOPPED

    page.get_by_role("button", name="Leave everything").click()
    assert page.get_by_role("heading", level=1).inner_text() == "You have left the list"
    ann.refresh_from_db()
    assert ann.status == SubscriberStatus.UNSUBSCRIBED
    assert list(ann.consents.values_list("kind", flat=True)) == [
        ConsentKind.PREFERENCES, ConsentKind.PREFERENCES, ConsentKind.WITHDRAWN]
    page.goto(url)
    assert "gets no emails from us" in page.inner_text("main")
