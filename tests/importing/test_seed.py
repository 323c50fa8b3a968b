"""Acceptance: the scraped seed article, block by block."""

import pytest
from django.core.management import call_command

from cms.models import Offer, PartPage
from pipeline.importing.models import ImportedArticle
from pipeline.importing.services import ImportOptions, series_import_files
from tests.support.factories import (
    OfferFactory,
    make_part,
    make_series,
    publish_offer,
    series_index,
)

pytestmark = pytest.mark.django_db

TITLE = "Why Hip Mobility Is Essential For Better Low Back Pain"


def _import(series, path, **options):
    return series_import_files(series=series, paths=[path], options=ImportOptions(**options))


def test_the_seed_becomes_part_two_block_by_block(seed_path):
    series = make_series(title="Low Back Pain", slug="low-back-pain")
    part_one = make_part(series, title="Low back pain myths")

    report = _import(series, seed_path)

    assert [f.error for f in report.files] == [""]
    part = PartPage.objects.get(series=series, part_number=2)
    assert part.title == TITLE
    assert not part.live, "imported pages are drafts unless --publish is given"
    body = part.get_latest_revision_as_object().body
    kinds = [block.block_type for block in body]
    assert kinds == [
        "image",  # "low back pain"
        "paragraph",  # In part 1 of our low back pain series (you can read HERE) ...
        "callout",
        "citation",  # 2015, quoted
        "image",  # "hip mobility"
        "paragraph",
        "citation",  # 2012, "found that"
        "paragraph",  # the rest of that paragraph: "That’s weird right? ..."
        "image",  # "healthy knees"
        "paragraph", "paragraph", "paragraph", "paragraph", "paragraph", "paragraph",
        "offer",
    ]
    all_text = " ".join(str(block.value) for block in body)
    assert "My cart" not in all_text and "validation purposes" not in all_text

    captions = [b.value["caption"] for b in body if b.block_type == "image"]
    assert captions == ["low back pain", "hip mobility", "healthy knees"]
    assert all(b.value["image"] is None for b in body if b.block_type == "image")

    citations = [b.value for b in body if b.block_type == "citation"]
    assert [c["year"] for c in citations] == [2015, 2012]
    assert citations[0]["finding"].startswith("The result of this study confirmed")
    assert citations[0]["finding"].endswith("limited range of hip joint motion.")
    assert citations[1]["finding"] == "Core stability by itself improved hip mobility."
    assert body[7].value.source.startswith("<p>That’s weird right? Not when")

    callout = body[2].value
    assert callout["part"].pk == part_one.pk
    assert callout["text"] == "Read part 1: Low back pain myths"
    assert f'<a linktype="page" id="{part_one.pk}">HERE</a>' in body[1].value.source

    presenter = body[11].value.source
    assert presenter.startswith("<p>Physical therapist, Jessica Bento demonstrates")

    offer_block = body[-1].value
    offer = offer_block["offer"]
    assert (offer.code, offer.percent_off, offer.live) == ("corrective", 35, False)
    assert (offer.ends_at - offer.starts_at).days == 7
    assert offer_block["headline"].endswith("35% off this week with code “corrective”")
    assert Offer.objects.count() == 1 and offer.latest_revision is not None

    record = ImportedArticle.objects.get(part=part)
    assert record.offer == offer and record.source_kind == "text"
    dropped = dict(report.articles[0].dropped)
    assert set(dropped) == {
        "account My cart 0",
        "This field is for validation purposes and should be left unchanged.",
    }
    assert dropped["account My cart 0"] == "shop header (account / cart)"


def test_without_part_one_the_link_stays_text_and_the_number_is_still_two(seed_path):
    series = make_series(slug="empty")
    report = _import(series, seed_path)
    part = PartPage.objects.get(series=series)
    assert part.part_number == 2
    kinds = [b.block_type for b in part.get_latest_revision_as_object().body]
    assert "callout" not in kinds
    assert any("points at part 1" in note for note in report.articles[0].notes)


def test_reimport_updates_the_same_part_and_offer(seed_path, tmp_path):
    series = make_series(slug="lbp")
    make_part(series)
    first = _import(series, seed_path)
    again = _import(series, seed_path)
    assert [a.status for a in again.articles] == ["unchanged"]

    edited = tmp_path / "seed.txt"
    edited.write_text(seed_path.read_text().replace("healthy knees", "strong knees"))
    third = _import(series, edited)
    assert [a.status for a in third.articles] == ["updated"]
    assert third.articles[0].part_id == first.articles[0].part_id
    assert PartPage.objects.filter(series=series).count() == 2
    assert Offer.objects.count() == 1
    body = PartPage.objects.get(pk=first.articles[0].part_id).get_latest_revision_as_object().body
    assert "strong knees" in [b.value["caption"] for b in body if b.block_type == "image"]


def test_command_dry_run_saves_nothing_and_reports(seed_path, capsys):
    make_series(slug="lbp")
    call_command("import_series", "--series", "lbp", "--dry-run", str(seed_path))
    out = capsys.readouterr().out
    assert "DRY RUN" in out and "shop header (account / cart)" in out
    assert "1 created" in out
    assert not PartPage.objects.exists() and not Offer.objects.exists()


def test_command_creates_the_series_and_can_publish(seed_path, capsys):
    series_index()
    call_command("import_series", "--series", "new-lbp", "--create-series", "Low Back Pain",
                 "--publish", str(seed_path))
    part = PartPage.objects.get(series__slug="new-lbp")
    assert part.live and part.title == TITLE
    assert "Dropped as site chrome" in capsys.readouterr().out


def test_an_existing_offer_with_the_same_code_is_linked_not_duplicated(seed_path):
    editor_offer = publish_offer(OfferFactory(code="corrective", name="Corrective week"))
    series = make_series(slug="lbp")
    report = _import(series, seed_path)
    assert report.articles[0].status == "created"
    part = PartPage.objects.get(pk=report.articles[0].part_id)
    offer_block = part.get_latest_revision_as_object().body[-1]
    assert offer_block.value["offer"].pk == editor_offer.pk
    assert Offer.objects.count() == 1
    assert ImportedArticle.objects.get(part=part).offer is None
    assert any("already used by “Corrective week”" in n for n in report.articles[0].notes)
