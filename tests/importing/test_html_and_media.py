"""Scraped HTML pages through trafilatura, and WordPress attachments whose files are present."""

import pytest
from PIL import Image as PILImage
from wagtail.images import get_image_model

from cms.models import PartPage
from pipeline.importing.models import ImportedArticle
from pipeline.importing.services import ImportOptions, series_import_files
from tests.support.factories import make_part, make_series
from tests.support.importing import wxr_document, wxr_item

pytestmark = pytest.mark.django_db

PAGE = """<!doctype html><html><head><title>Why Hip Mobility Matters | The Shop</title>
<link rel="canonical" href="https://shop.example/blog/why-hip-mobility/"></head><body>
<header><nav><a href="/">Home</a> <a href="/account">account</a> My cart 0</nav></header>
<form><p>This field is for validation purposes and should be left unchanged.</p></form>
<article><h1>Why Hip Mobility Matters</h1>
<p>In part 1 of our low back pain series (you can read <a href="/blog/part-1/">HERE</a>), I
discussed several misconceptions as well as more effective strategies for pain.</p>
<figure><img src="/img/hip.jpg" alt="a hip stretch"><figcaption>hip mobility</figcaption></figure>
<p>A 2015 study, for example, found, “Hip mobilization brings positive effects on pain,
function and psychological factors for patients with chronic low back pain.”</p>
<h2>What to do about it</h2>
<p>Integrate core stability into every hip drill, and the results last much longer than
isolated stretching ever could, as the research and our coaching both show.</p>
<p>Find out more in our programs that are 35% off this week with code “corrective” HERE</p>
</article><footer><p>© 2020 The Shop. All rights reserved.</p></footer></body></html>"""


def test_an_html_page_is_extracted_mapped_and_matched_by_url(tmp_path):
    page = tmp_path / "why-hip.html"
    page.write_text(PAGE)
    series = make_series(slug="html-series")
    one = make_part(series, title="Back pain myths")
    report = series_import_files(series=series, paths=[page])
    assert report.files[0].error == ""
    part = PartPage.objects.get(series=series, part_number=2)
    assert part.title == "Why Hip Mobility Matters"
    body = part.get_latest_revision_as_object().body
    kinds = [b.block_type for b in body]
    assert kinds == ["paragraph", "callout", "image", "citation", "heading", "paragraph",
                     "offer"]
    assert body[1].value["part"].pk == one.pk
    assert body[2].value["caption"] == "hip mobility"
    assert body[2].value["alt_text"] == "a hip stretch"
    assert body[3].value["year"] == 2015
    assert body[6].value["offer"].code == "corrective"
    text = " ".join(str(b.value) for b in body)
    assert "My cart" not in text and "validation purposes" not in text
    dropped = dict(report.articles[0].dropped)
    assert "© 2020 The Shop. All rights reserved." in dropped

    again = series_import_files(series=series, paths=[page])
    assert again.articles[0].status == "unchanged"
    assert again.articles[0].source.endswith("https://shop.example/blog/why-hip-mobility/")


def test_attachment_files_in_the_media_folder_become_wagtail_images(tmp_path):
    media = tmp_path / "uploads"
    (media / "2020" / "01").mkdir(parents=True)
    PILImage.new("RGB", (8, 6), "red").save(media / "2020" / "01" / "bell.png")
    attachment = wxr_item(
        90, "Bell", "", post_type="attachment", status="inherit",
        extra="<wp:attachment_url>https://blog.example/wp-content/uploads/2020/01/bell.png"
              "</wp:attachment_url><wp:postmeta><wp:meta_key>_wp_attached_file</wp:meta_key>"
              "<wp:meta_value>2020/01/bell.png</wp:meta_value></wp:postmeta>",
    )
    post = wxr_item(91, "With images", (
        '[caption id="attachment_90" width="300"]<img class="wp-image-90" '
        'src="https://blog.example/wp-content/uploads/2020/01/bell-300x200.png" alt="Bell" />'
        ' A bell on the wharf[/caption]\n\n'
        '<img src="https://elsewhere.example/missing.jpg" alt="Gone" />\n\nClosing words.'
    ))
    export = tmp_path / "export.xml"
    export.write_text(wxr_document(attachment, post))
    series = make_series(slug="media")
    report = series_import_files(series=series, paths=[export],
                                 options=ImportOptions(media_dir=media))
    assert report.count("created") == 1
    body = PartPage.objects.get(series=series).get_latest_revision_as_object().body
    images = [b.value for b in body if b.block_type == "image"]
    assert images[0]["image"] is not None and images[0]["caption"] == "A bell on the wharf"
    assert (images[0]["image"].width, images[0]["image"].height) == (8, 6)
    assert images[1]["image"] is None and images[1]["alt_text"] == "Gone"
    assert any("missing.jpg" in note for note in report.articles[0].notes)
    series_import_files(series=series, paths=[export], options=ImportOptions(media_dir=media))
    assert get_image_model().objects.count() == 1


def test_long_and_missing_titles_are_made_valid(tmp_path):
    long_title = "A very long title " * 25  # 450 characters
    export = tmp_path / "titles.xml"
    export.write_text(wxr_document(
        wxr_item(71, long_title.strip(), "<p>Body of the long one.</p>"),
        wxr_item(72, "", "<p>Nameless post body that still deserves a title here.</p>"),
    ))
    series = make_series(slug="titles")
    report = series_import_files(series=series, paths=[export])
    assert report.count("created") == 2
    long_record = ImportedArticle.objects.get(source_key__endswith="#71")
    assert len(long_record.part.title) <= 255 and long_record.part.title.endswith("…")
    assert long_record.original_title == long_title.strip()
    nameless = ImportedArticle.objects.get(source_key__endswith="#72").part
    assert nameless.title == "Nameless post body that still deserves a title…"
