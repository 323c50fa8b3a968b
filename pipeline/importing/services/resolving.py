"""Turn draft blocks into StreamField values, linking database objects: image files found in
the media folder or fetched become Wagtail images (images.py; placeholders with the caption
otherwise), callouts
point at the series' part when it exists, offer blocks at their draft Offer. Last, every block
is cleaned by its definition in the part body's StreamBlock, as an editor's save would be: a
block it refuses is dropped, with a note saying which and why."""

import re
from pathlib import Path

from django.core.exceptions import ValidationError

from cms.models import Offer, PartPage, SeriesPage
from pipeline.importing.services.drafts import ArticleDraft
from pipeline.importing.services.images import image_for_block
from pipeline.importing.services.offers import offer_save_draft

_HERE = re.compile(r"\b(HERE|here)\b(?=\s*\)|\s*[.!]?\s*</p>$)")


def draft_body_resolve(
    *, draft: ArticleDraft, series: SeriesPage, own_part_number: int, media_dir: Path | None,
    existing_offer: Offer | None, create_files: bool,
) -> tuple[list[tuple[str, object]], Offer | None]:
    stream: list[tuple[str, object]] = []
    offer: Offer | None = None
    for block in draft.body:
        value = block.value
        if block.type == "image":
            image = image_for_block(value, media_dir=media_dir, create_files=create_files,
                                    draft=draft)
            stream.append(("image", {"image": image, "caption": value.get("caption", ""),
                                     "alt_text": value.get("alt_text", "")}))
        elif block.type == "callout":
            target = _part(series, value["part_number"], own_part_number)
            if target is None:
                draft.notes.append(
                    f"the text points at part {value['part_number']}, which is not in series "
                    f"“{series.title}”: kept as text, no call-out"
                )
                continue
            _link_here(stream, target)
            stream.append(("callout", {
                "text": f"Read part {target.part_number}: {target.title}"[:300], "part": target,
            }))
            draft.kept.append(f"call-out to part {target.part_number} ({target.title})")
        elif block.type == "offer":
            linked, ours, note = offer_save_draft(
                suggestion=value["suggestion"],
                name=f"{series.title}: {value['suggestion'].percent_off}% off with "
                     f"{value['suggestion'].code}",
                existing=existing_offer,
            )
            if note:
                draft.notes.append(note)
            offer = linked if ours else None  # the import record only owns offers it made
            stream.append(("offer", {"offer": linked, "headline": value["headline"]}))
        else:
            stream.append((block.type, value))
    return _validated(stream, draft), offer


def _validated(stream: list[tuple[str, object]], draft: ArticleDraft) -> list[tuple[str, object]]:
    definition = PartPage.body.field.stream_block
    kept = []
    for kind, value in stream:
        try:
            definition.clean(definition.normalize([(kind, value)]))
        except ValidationError as error:
            draft.notes.append(f"dropped a {kind} block refused by its definition: "
                               f"{_refusal(error, value)}")
            continue
        kept.append((kind, value))
    return kept


def _refusal(error: ValidationError, value) -> str:
    """What the block definition said, with the refused field's value (a URL, a year…)."""
    child = getattr(error, "block_errors", {}).get(0, error)
    fields = getattr(child, "block_errors", None)
    if fields and isinstance(value, dict):
        return "; ".join(f"{name} {str(value.get(name))[:80]!r}: {' '.join(e.messages)}"
                         for name, e in fields.items())
    return " ".join(child.messages)


def _part(series: SeriesPage, number: int, own_number: int) -> PartPage | None:
    if number == own_number:
        return None
    return PartPage.objects.filter(series=series, part_number=number).first()


def _link_here(stream: list, target: PartPage) -> None:
    """Make the dangling "HERE" in the pointing paragraph a link to the part."""
    if not stream or stream[-1][0] != "paragraph":
        return
    linked = _HERE.sub(lambda m: f'<a linktype="page" id="{target.pk}">{m.group(1)}</a>',
                       stream[-1][1], count=1)
    stream[-1] = ("paragraph", linked)
