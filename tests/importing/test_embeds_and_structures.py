"""Issue 14: what the article has is kept. Videos from embeds with their presenters, tables,
quotes, code and verse, from saved WordPress pages (through trafilatura) and from WXR."""

import pytest
from PIL import Image as PILImage
from wagtail.images import get_image_model

from cms.models import Offer, PartPage
from pipeline.importing.services import ImportOptions, series_import_files
from pipeline.importing.services.drafts import ArticleDraft
from pipeline.importing.services.enrichment import draft_enrich
from pipeline.importing.services.html_blocks import html_to_blocks
from pipeline.importing.services.wordpress_markup import expand_wordpress_markup
from tests.support.factories import make_part, make_series
from tests.support.importing import seed_as_wordpress_page, wxr_document, wxr_item

YOUTUBE = "https://www.youtube.com/embed/{}?feature=oembed"


def mapped(fragment: str) -> ArticleDraft:
    content, notes = expand_wordpress_markup(fragment)
    blocks, html_notes = html_to_blocks(content, base_url="https://blog.example/post/")
    draft = ArticleDraft(source_kind="wxr", source_key="k", title="T", original_title="T",
                         body=blocks, notes=notes + html_notes)
    draft_enrich(draft)
    return draft


def values(draft: ArticleDraft, kind: str) -> list:
    return [block.value for block in draft.body if block.type == kind]


@pytest.mark.django_db
def test_the_seed_as_a_saved_wordpress_page_keeps_its_videos_and_presenters(seed_path,
                                                                            tmp_path):
    page = tmp_path / "why-hip-mobility.html"
    page.write_text(seed_as_wordpress_page(seed_path.read_text()))
    series = make_series(title="Low Back Pain", slug="low-back-pain")
    make_part(series, title="Low back pain myths")

    report = series_import_files(series=series, paths=[page])

    article = report.articles[0]
    assert article.status == "created", article.error
    part = PartPage.objects.get(series=series, part_number=2)
    body = part.get_latest_revision_as_object().body
    videos = [b.value for b in body if b.block_type == "video"]
    assert [(v["presenter"], v["presenter_role"], v["url"]) for v in videos] == [
        ("Jessica Bento", "Physical therapist", "https://www.youtube.com/watch?v=hipflow01"),
        ("Cory Cripe", "Coach", "https://www.youtube.com/watch?v=sandbag02"),
    ]
    assert [v["title"] for v in videos] == ["Hip mobility"] * 2  # the oEmbed iframe's title
    kinds = [b.block_type for b in body]
    # Each credit sentence stays as text, right after its video.
    for video_index in (i for i, kind in enumerate(kinds) if kind == "video"):
        assert kinds[video_index + 1] == "paragraph"
    credits = [body[i + 1].value.source for i, k in enumerate(kinds) if k == "video"]
    assert credits[0].startswith("<p>Physical therapist, Jessica Bento demonstrates")
    assert credits[1].startswith("<p>Coach Cory Cripe shows")
    images = [b.value for b in body if b.block_type == "image"]
    assert [i["caption"] for i in images] == ["low back pain", "hip mobility", "healthy knees"]
    assert [c["year"] for c in (b.value for b in body if b.block_type == "citation")] == \
        [2015, 2012]
    assert kinds.count("callout") == 1 and kinds[-1] == "offer"
    offer = body[-1].value["offer"]
    assert (offer.code, offer.percent_off, offer.live) == ("corrective", 35, False)
    assert Offer.objects.count() == 1
    text = " ".join(str(b.value) for b in body)
    assert "My cart" not in text and "validation purposes" not in text and "Newsletter" not in text
    assert "healthy knees" not in dict(article.dropped)  # a recovered caption is not "dropped"


def test_credits_before_their_videos_pair_with_the_right_video():
    first, second = (f'<iframe src="{YOUTUBE.format(name)}"></iframe>' for name in ("a1", "b2"))
    draft = mapped(
        "<p>Physical therapist, Jessica Bento demonstrates the hinge.</p>" + first
        + "<p>Coach Cory Cripe shows the carry.</p>" + second)
    assert [(v["url"][-2:], v["presenter"]) for v in values(draft, "video")] == [
        ("a1", "Jessica Bento"), ("b2", "Cory Cripe")]


def test_a_credit_serves_one_video_only():
    draft = mapped('<video src="https://cdn.example/a.mp4"></video>'
                   "<p>Coach Cory Cripe shows the carry.</p>"
                   '<video src="https://cdn.example/b.mp4"></video>')
    assert [v["presenter"] for v in values(draft, "video")] == ["Cory Cripe", ""]


def test_wordpress_embeds_and_shortcodes_become_videos_others_links():
    draft = mapped(
        '<figure class="wp-block-embed is-type-video is-provider-vimeo"><div '
        'class="wp-block-embed__wrapper">\nhttps://vimeo.com/22439234\n</div><figcaption>The '
        "mountain</figcaption></figure>"
        '\n\n[embed]https://youtu.be/ex8fMxXJDJw[/embed]\n\n[video mp4="/media/clip.mp4"]'
        '[/video]\n\n<figure class="wp-block-embed is-type-rich"><div class="wp-block-embed__'
        'wrapper">https://twitter.com/WordPress/status/1</div></figure>'
        '<iframe src="https://player.vimeo.com/video/76979871"></iframe>'
        '<video><source src="javascript:alert(1)"></video>')
    assert [(v["url"], v["title"]) for v in values(draft, "video")] == [
        ("https://vimeo.com/22439234", "The mountain"),
        ("https://youtu.be/ex8fMxXJDJw", ""),
        ("https://blog.example/media/clip.mp4", ""),
        ("https://vimeo.com/76979871", ""),
    ]
    assert values(draft, "paragraph") == [
        '<p>Embed: <a href="https://twitter.com/WordPress/status/1">'
        "https://twitter.com/WordPress/status/1</a></p>"]
    assert "dropped <video> source 'javascript:alert(1)': only http:// and https:// addresses " \
           "are imported" in draft.notes


def test_tables_keep_header_caption_links_and_merged_cells():
    draft = mapped(
        '<figure class="wp-block-table"><table><thead><tr><th>Drill</th><th>Sets</th>'
        "<th>Notes</th></tr><tr><th colspan=3>Week one</th></tr></thead><tbody>"
        '<tr><td rowspan="2"><a href="/hinge/">Hinge</a></td><td>3</td><td>slow<br>and '
        "steady</td></tr><tr><td>4</td><td><script>alert(1)</script>hold</td></tr>"
        "</tbody></table><figcaption>Weekly plan</figcaption></figure>")
    (table,) = values(draft, "table")
    assert table["caption"] == "Weekly plan"
    assert [(c["type"], c["heading"]) for c in table["columns"]] == [
        ("rich_text", "Drill"), ("text", "Sets"), ("text", "Notes")]
    assert [row["values"] for row in table["rows"]] == [
        ["<p>Week one</p>", "", ""],
        ['<p><a href="https://blog.example/hinge/">Hinge</a></p>', "3", "slow and steady"],
        ["", "4", "alert(1)hold"],
    ]
    assert "a table had 2 header rows: the first is the header, the others are kept as rows" \
        in draft.notes
    assert "merged table cells were split (the text is in the first cell)" in draft.notes


def test_a_table_without_header_has_empty_headings_and_its_caption_element():
    draft = mapped("<table><caption>Scores</caption><tr><td>a</td><td>1</td></tr>"
                   "<tr><td>b</td></tr></table>")
    (table,) = values(draft, "table")
    assert table["caption"] == "Scores"
    assert [c["heading"] for c in table["columns"]] == ["", ""]
    assert [row["values"] for row in table["rows"]] == [["a", "1"], ["b", ""]]


def test_quotes_pull_quotes_code_verse_and_lists():
    draft = mapped(
        '<blockquote class="wp-block-quote"><p>Move <em>well</em>,</p><p>then '
        '<a href="javascript:alert(1)">often</a>.</p><cite>— Gray Cook</cite></blockquote>'
        '<figure class="wp-block-pullquote"><blockquote><p>Strength is a skill.</p>'
        "<cite>Pavel</cite></blockquote></figure>"
        "<blockquote>Stay hungry.\nStay foolish.</blockquote>"
        '<pre class="wp-block-code"><code class="language-python">def hinge():\n'
        "    return &lt;hips&gt;</code></pre>"
        "[code lang=\"css\"].a { color: red; }\n.b &lt;x&gt; {}[/code]"
        '<pre class="brush: !!" data-lang="c; drop">plain\n  text</pre>'
        '<pre class="wp-block-verse">Roses are red,<br>  violets are blue</pre>'
        "<ol><li>One<ul><li>nested</li></ul></li><li>Two</li></ol>")
    quotes = values(draft, "quote")
    assert quotes == [
        {"text": "<p>Move <em>well</em>,</p><p>then <a>often</a>.</p>",
         "attribution": "Gray Cook"},
        {"text": "<p>Strength is a skill.</p>", "attribution": "Pavel"},
        {"text": "<p>Stay hungry.<br/>Stay foolish.</p>", "attribution": ""},
    ]
    assert values(draft, "code") == [
        {"language": "python", "text": "def hinge():\n    return <hips>"},
        {"language": "css", "text": ".a { color: red; }\n.b <x> {}"},
        {"language": "", "text": "plain\n  text"},
    ]
    assert values(draft, "verse") == [{"text": "Roses are red,\n  violets are blue",
                                       "attribution": ""}]
    (lists,) = values(draft, "paragraph")
    assert lists.startswith("<ol><li>One<ul><li>nested</li></ul></li>")


@pytest.mark.django_db
def test_a_saved_page_keeps_captions_attributions_and_languages_trafilatura_drops(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        '<html><head><title>Drills</title><link rel="canonical" href="https://blog.example/d/">'
        '</head><body><nav><a href="/">Home</a></nav><article><h1>Drills</h1>'
        "<p>Three drills for the hips, with the plan below and a word from the coach today.</p>"
        '<figure class="wp-block-table"><table><thead><tr><th>Drill</th><th>Reps</th></tr>'
        "</thead><tbody><tr><td>Hinge</td><td>10</td></tr><tr><td>Carry</td><td>20</td></tr>"
        "</tbody></table><figcaption>The plan</figcaption></figure>"
        "<blockquote><p>Strength is a skill, and skills take practice every day.</p>"
        "<cite>Pavel Tsatsouline</cite></blockquote>"
        '<pre><code class="language-python">for rep in range(10):\n    hinge()</code></pre>'
        '<pre class="wp-block-verse">Hips that move\n  backs that last</pre>'
        "<p>That is all for today, see you in the next part of this series soon enough.</p>"
        "</article><footer>© 2020 The Shop. All rights reserved.</footer></body></html>")
    series = make_series(slug="drills")
    series_import_files(series=series, paths=[page], options=ImportOptions())
    body = PartPage.objects.get(series=series).get_latest_revision_as_object().body
    assert [b.block_type for b in body] == ["paragraph", "table", "quote", "code", "verse",
                                            "paragraph"]
    table = body[1].value
    assert table.caption == "The plan"
    assert [c["heading"] for c in table.columns] == ["Drill", "Reps"]
    assert body[2].value["attribution"] == "Pavel Tsatsouline"
    assert body[3].value["language"] == "python"
    assert body[4].value["text"] == "Hips that move\n  backs that last"


@pytest.mark.django_db
def test_identical_files_under_the_media_folder_are_one_image(tmp_path):
    media = tmp_path / "uploads"
    media.mkdir()
    PILImage.new("RGB", (4, 4), "blue").save(media / "a.png")
    (media / "b.png").write_bytes((media / "a.png").read_bytes())
    export = tmp_path / "export.xml"
    export.write_text(wxr_document(wxr_item(5, "Two", (
        '<img src="https://blog.example/a.png" alt="A"><img src="https://blog.example/b.png" '
        'alt="B">'))))
    series = make_series(slug="same-files")
    series_import_files(series=series, paths=[export], options=ImportOptions(media_dir=media))
    body = PartPage.objects.get(series=series).get_latest_revision_as_object().body
    assert [b.value["image"].pk for b in body] == [get_image_model().objects.get().pk] * 2
