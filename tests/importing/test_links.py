"""Links and videos in imported HTML: http(s) ones are kept as before, others are dropped with a
note (tests/security/test_imported_markup.py holds the attacks)."""

import pytest

from cms.models import PartPage
from pipeline.importing.services.drafts import ArticleDraft
from pipeline.importing.services.enrichment import draft_enrich
from pipeline.importing.services.html_blocks import html_to_blocks
from pipeline.importing.services.resolving import draft_body_resolve
from tests.support.factories import make_series

CREDIT = "<p>Physical therapist, Jessica Bento demonstrates the hip hinge.</p>"
YOUTUBE = "https://www.youtube.com/embed/abc"


def enriched(fragment: str, *, base_url: str = "") -> ArticleDraft:
    blocks, notes = html_to_blocks(fragment, base_url=base_url)
    draft = ArticleDraft(source_kind="html", source_key="k", title="T", original_title="T",
                         body=blocks, notes=notes)
    draft_enrich(draft)
    return draft


def test_a_youtube_embed_with_a_credit_is_a_video_block():
    draft = enriched(f'{CREDIT}<iframe src="{YOUTUBE}"></iframe>')
    video = [b.value for b in draft.body if b.type == "video"]
    assert video == [{"url": "https://www.youtube.com/watch?v=abc", "title": "",
                      "presenter": "Jessica Bento", "presenter_role": "Physical therapist"}]


def test_a_video_without_a_credit_is_a_video_block_with_no_presenter():
    draft = enriched(f'<figure><video src="{YOUTUBE}"></video><figcaption>Hinge & hold'
                     "</figcaption></figure>")
    assert [b.value for b in draft.body] == [
        {"url": "https://www.youtube.com/watch?v=abc", "title": "Hinge & hold",
         "presenter": "", "presenter_role": ""}
    ]
    assert "video without a presenter credit (presenter left empty)" in draft.notes


def test_relative_media_resolve_against_the_page_and_are_dropped_without_one():
    audio = "https://blog.example/a.mp3"
    resolved = enriched('<audio src="/a.mp3"></audio>', base_url="https://blog.example/post/")
    assert [b.value for b in resolved.body] == [f'<p>Audio: <a href="{audio}">{audio}</a></p>']
    draft = enriched('<figure><audio src="/a.mp3"></audio><figcaption>Breathing</figcaption>'
                     "</figure>")
    assert [b.value for b in draft.body] == ["<p>Breathing</p>"]
    assert any("dropped <audio> source '/a.mp3'" in note for note in draft.notes)


@pytest.mark.django_db
def test_valid_blocks_pass_the_definitions_unchanged():
    series = make_series(slug="valid")
    draft = enriched(f'<h2>Hips</h2>{CREDIT}<iframe src="{YOUTUBE}"></iframe><p>End.</p>')
    body, _ = draft_body_resolve(draft=draft, series=series, own_part_number=1, media_dir=None,
                                 existing_offer=None, create_files=False)
    assert [kind for kind, _ in body] == ["heading", "paragraph", "video", "paragraph"]
    assert not [note for note in draft.notes if "refused" in note]
    PartPage.body.field.stream_block.clean(PartPage.body.field.stream_block.normalize(body))
