"""With Mailchimp configured, a change on the preference page reaches the member's interests
(a targeted PATCH queued on commit, through the real client, against the emulator)."""

import pytest

from pipeline.subscribers.services import subscriber_preferences_page_url
from tests.support.factories import make_series
from tests.support.mailchimp import add_members, map_series_to_interest, use_emulator
from tests.support.mailchimp_emulator.records import subscriber_hash
from tests.support.subscribers import link_path, make_member
from tests.support.workers import tasks_run_on_commit

pytestmark = pytest.mark.django_db


def _interests(running, email: str) -> dict:
    member = running.emulator.state.audience(running.list_id).members[subscriber_hash(email)]
    return {key: value for key, value in member.interests.items()}


def test_preference_changes_reach_the_members_interests(client, mailchimp_emulator, settings):
    use_emulator(settings, mailchimp_emulator)
    moving = make_series(title="Moving Well", slug="moving-well")
    eating = make_series(title="Eating Well", slug="eating-well")
    moving_interest = map_series_to_interest(mailchimp_emulator, moving)
    eating_interest = map_series_to_interest(
        mailchimp_emulator, eating, category_id=moving_interest.category_id)
    ann = make_member("ann@example.com", moving)
    add_members(mailchimp_emulator, ["ann@example.com"], interests=[moving_interest.interest_id])
    path = link_path(subscriber_preferences_page_url(ann))
    with tasks_run_on_commit():
        client.post(path, {"series": ["eating-well"]})
    assert _interests(mailchimp_emulator, "ann@example.com") == {
        moving_interest.interest_id: False, eating_interest.interest_id: True}
    with tasks_run_on_commit():
        client.post(path + "stop/eating-well/")
    assert _interests(mailchimp_emulator, "ann@example.com") == {
        moving_interest.interest_id: False, eating_interest.interest_id: False}
