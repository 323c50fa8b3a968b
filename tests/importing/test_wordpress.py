"""Acceptance: WordPress's theme unit test export, counted independently of the importer."""

import html
from collections import Counter

import pytest
from django.db import transaction
from django.utils.text import slugify

from cms.models import PartPage
from pipeline.importing.models import ImportedArticle
from pipeline.importing.services import ImportOptions, series_import_files
from tests.support.factories import make_series
from tests.support.importing import WORDPRESS_EXPORT, body_words_source, export_items, word_fidelity

pytestmark = pytest.mark.django_db

def _body_text(part: PartPage) -> str:
    """Every word the part's body holds, tables, quotes, code and verse included."""
    return " ".join(body_words_source(part.get_latest_revision_as_object().body))


@pytest.fixture(scope="module")
def imported(django_db_setup, django_db_blocker):
    """Import the export once for this module, inside a transaction rolled back at the end;
    each test runs in a savepoint within it."""
    if not WORDPRESS_EXPORT.exists():
        pytest.skip("shared WordPress export missing")
    with django_db_blocker.unblock(), transaction.atomic():
        series = make_series(title="Theme tests", slug="theme-tests")
        report = series_import_files(series=series, paths=[WORDPRESS_EXPORT])
        yield series, report, export_items(WORDPRESS_EXPORT)
        transaction.set_rollback(True)


def test_counts_of_posts_pages_drafts_and_private_posts(imported):
    series, report, expected = imported
    assert [f.error for f in report.files] == [""]
    assert report.count("error") == 0
    records = ImportedArticle.objects.filter(series=series)
    expected_types = Counter(item["type"] for item in expected)
    assert Counter(records.values_list("wp_post_type", flat=True)) == expected_types
    assert expected_types["post"] > 50 and expected_types["page"] > 10

    expected_status = Counter((i["type"], i["status"]) for i in expected)
    imported_status = Counter(records.values_list("wp_post_type", "wp_status"))
    assert imported_status == expected_status
    drafts = sum(1 for i in expected if i["status"] == "draft")
    private = sum(1 for i in expected if i["status"] == "private")
    assert records.filter(wp_status="draft").count() == drafts == 1
    assert records.filter(wp_status="private").count() == private  # none in this export

    # Only public, published items are live; drafts, the scheduled and the protected are not.
    should_be_live = {i["id"] for i in expected if i["status"] == "publish" and not i["password"]}
    live_ids = {int(r.source_key.rsplit("#", 1)[1]) for r in records.filter(part__live=True)}
    assert live_ids == should_be_live
    assert records.filter(wp_password_protected=True, part__live=False).count() == sum(
        1 for i in expected if i["password"])
    assert PartPage.objects.filter(series=series).count() == len(expected)


def test_every_posts_text_survives(imported):
    """Word fidelity: at least 97% of each post's words are in its part's body, counted over
    every block (tables, quotes, code and verse too)."""
    series, report, expected = imported
    by_id = {int(r.source_key.rsplit("#", 1)[1]): r.part
             for r in ImportedArticle.objects.filter(series=series).select_related("part")}
    for item in expected:
        assert not item["content"].strip() or _body_text(by_id[item["id"]]).strip(), \
            f"post {item['id']} {item['title']!r} lost all its text"
    fidelity = word_fidelity(expected, lambda post_id: [_body_text(by_id[post_id])])
    assert fidelity.worst[0] >= 0.97, fidelity.worst_three
    assert fidelity.overall >= 0.99


def test_titles_slugs_dates_and_metadata(imported):
    series, report, expected = imported
    records = {int(r.source_key.rsplit("#", 1)[1]): r
               for r in ImportedArticle.objects.filter(series=series).select_related("part")}
    no_title = records[1169].part
    assert no_title.title.startswith("This post has no title")
    assert records[1173].part.title == "Markup: Title With Markup"
    special = next(i for i in expected if i["id"] == 1174)
    assert records[1174].part.title == html.unescape(special["title"])
    assert records[1811].part.slug == slugify("επίπεδο-2", allow_unicode=True) == "επίπεδο-2"
    standard = records[358]
    assert standard.part.live
    assert standard.part.first_published_at.isoformat().startswith("2010-10-05T07:27:25")
    assert standard.author == "Theme Buster"
    assert "Classic" in standard.categories
    many_tags = next(i for i in expected if i["id"] == 1151)
    assert sorted(records[1151].tags) == many_tags["tags"]
    scheduled = records[1153]
    assert scheduled.wp_status == "future" and not scheduled.part.live


def test_posts_are_numbered_in_date_order_then_pages(imported):
    series, report, expected = imported
    records = ImportedArticle.objects.filter(series=series).select_related("part")
    posts = sorted((r for r in records if r.wp_post_type == "post"),
                   key=lambda r: r.part.part_number)
    dated = [r.source_published_at for r in posts if r.source_published_at]
    assert dated == sorted(dated)
    last_post = max(r.part.part_number for r in posts)
    assert all(r.part.part_number > last_post for r in records if r.wp_post_type == "page")


def test_shortcodes_gutenberg_and_captions(imported):
    series, report, expected = imported
    records = {int(r.source_key.rsplit("#", 1)[1]): r.part
               for r in ImportedArticle.objects.filter(series=series).select_related("part")}
    gallery = _body_text(records[555])
    assert '[gallery columns="1"]' in html.unescape(gallery)
    caption_post = records[1163].get_latest_revision_as_object().body
    images = [b.value for b in caption_post if b.block_type == "image"]
    assert any(v["caption"] == "Bell on wharf in San Francisco" and v["image"] is None
               for v in images)
    block_image = records[1755].get_latest_revision_as_object().body
    assert "<!-- wp:" not in _body_text(records[1755])
    assert sum(1 for b in block_image if b.block_type == "image") >= 5


def test_reimport_updates_nothing_twice(imported):
    series, report, expected = imported
    before = PartPage.objects.filter(series=series).count()
    again = series_import_files(series=series, paths=[WORDPRESS_EXPORT],
                                options=ImportOptions())
    assert again.count("unchanged") == len(expected)
    assert PartPage.objects.filter(series=series).count() == before


def test_tables_quotes_code_verse_and_embeds_keep_their_kind(imported):
    """Issue 14: every table of the export is a table block (header row, caption, links in
    cells); quotes and pull quotes are quote blocks; code, preformatted text and verse keep
    their lines; the embed blocks' videos are video blocks."""
    series, report, expected = imported
    bodies = {int(r.source_key.rsplit("#", 1)[1]): r.part.get_latest_revision_as_object().body
              for r in ImportedArticle.objects.filter(series=series).select_related("part")}

    def blocks(post_id, kind):
        return [block.value for block in bodies[post_id] if block.block_type == kind]

    tables_in_source = sum(item["content"].count("<table") for item in expected)
    assert sum(len(blocks(post_id, "table")) for post_id in bodies) == tables_in_source == 8
    plain, headed = blocks(8, "table")
    assert (plain.caption, headed.caption) == ("Table caption", "Table caption")
    assert [c["heading"] for c in plain.columns] == ["", ""]
    assert [c["heading"] for c in headed.columns] == ["header label one", "header label two"]
    assert [row["values"] for row in headed.row_data][-1] == ["footer label one",
                                                              "footer label two"]
    (salaries,) = blocks(1178, "table")
    assert [(c["block"].name, c["heading"]) for c in salaries.columns] == [
        ("rich_text", "Employee"), ("text", "Salary"), ("text", "")]
    assert salaries.row_data[0]["values"][0].source == \
        '<p><a href="http://example.org/">John Doe</a></p>'

    assert [(q["text"].source, q["attribution"]) for q in blocks(8, "quote")] == [
        ("<p>Quote block</p>", "citation"), ("<p>Pull quote</p>", "Citation")]
    assert [dict(c) for c in blocks(8, "code")] == [
        {"language": "", "text": "code block"}, {"language": "", "text": "Preformatted block"}]
    assert [v["text"] for v in blocks(8, "verse")] == ["Verse block"]
    (haiku,) = blocks(1732, "verse")
    assert haiku["text"] == "The Verse block\n\nA block for haiku?\n  Why not?\n    Blocks for " \
                            "all the things!"
    assert "\tTwo roads diverged in a yellow wood," in blocks(1178, "code")[0]["text"].split("\n")
    assert [(v["url"], v["presenter"]) for v in blocks(1738, "video")] == [
        ("https://youtu.be/ex8fMxXJDJw", ""),
        ("https://wordpress.tv/2018/10/14/kjell-reigstad-allan-cole-how-we-made-our-first-"
         "gutenberg-powered-theme/", "")]
    lists = [b.value.source for b in bodies[1178] if b.block_type == "paragraph"
             and b.value.source.startswith("<ul>")]
    assert lists and lists[0].count("<ul>") == 3  # nested lists stay nested lists
