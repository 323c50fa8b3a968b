"""A part's body in the announcement email: each block through its email templates
(templates/email/blocks/<type>.html inside the MJML text column, <type>.txt for the plain-text
part). Links and images are absolute.

What the page refuses to show, the email does not show either: a video or citation link that is
not http(s) is text, a call-out links only a live, public part. Offer blocks are left out: a
discount goes out in its own campaign, whose send is guarded by the offer's window, so an
announcement never carries a code that may have expired by the time it is read. Image
placeholders (no file) are left out too."""

from django.template.loader import render_to_string
from wagtail.rich_text import expand_db_html

from cms.blocks import CalloutBlock, is_web_url
from cms.links import public_url
from cms.text_blocks import table_has_header
from pipeline.campaigns.services.email_markup import absolute_url, absolutize, rich_text_to_plain

IMAGE_RENDITION = "width-1200"


def part_body_email(*, part) -> tuple[str, str]:
    """The body as (HTML for an mj-text column, plain text)."""
    html_parts, text_parts = [], []
    for child in part.body:
        build = _CONTEXTS.get(child.block_type)
        context = build(child.value) if build else None
        if context is None:
            continue
        name = f"email/blocks/{child.block_type}"
        html_parts.append(render_to_string(f"{name}.html", context).strip())
        text_parts.append(render_to_string(f"{name}.txt", context).strip("\n"))
    return absolutize("\n".join(html_parts)), "\n\n".join(t for t in text_parts if t)


def _rich(source: str) -> dict:
    markup = absolutize(expand_db_html(source))
    return {"html": markup, "text": rich_text_to_plain(markup)}


def _paragraph(value) -> dict:
    return _rich(value.source)


def _image(value) -> dict | None:
    image = value.get("image")
    if image is None:
        return None
    rendition = image.get_rendition(IMAGE_RENDITION)
    return {"url": absolute_url(rendition.url), "alt": value.get("alt_text") or value.get(
        "caption", ""), "caption": value.get("caption", "")}


def _video(value) -> dict:
    url = value.get("url") if is_web_url(value.get("url")) else ""
    return {**value, "url": url}


def _citation(value) -> dict:
    return {**value, "url": value.get("url") if is_web_url(value.get("url")) else ""}


def _callout(value) -> dict:
    linked = CalloutBlock.linked_part(value)
    return {"text": value.get("text", ""), "url": public_url(linked) if linked else ""}


def _quote(value) -> dict:
    rich = _rich(value["text"].source)
    return {**rich, "quoted": _prefixed(rich["text"], "> "),
            "attribution": value.get("attribution", "")}


def _code(value) -> dict:
    return {**value, "indented": _prefixed(value.get("text", ""), "    ")}


def _prefixed(text: str, prefix: str) -> str:
    return "\n".join((prefix + line).rstrip() for line in text.split("\n"))


def _table(value) -> dict:
    rows = []
    for row in value.row_data:
        cells = []
        for column, cell in zip(value.columns, row["values"], strict=False):
            if column["block"].name == "rich_text":
                cells.append(_rich(cell.source if cell is not None else ""))
            else:
                cells.append({"html": None, "text": cell or ""})
        rows.append(cells)
    headings = [column["heading"] for column in value.columns]
    return {
        "caption": value.caption,
        "headings": headings if table_has_header(value) else [],
        "rows": rows,
        "text_rows": _text_rows(headings if table_has_header(value) else None, rows),
    }


def _text_rows(headings: list[str] | None, rows: list[list[dict]]) -> list[str]:
    """The table for the plain-text part: cells joined by " | ", the header underlined."""
    lines = []
    if headings:
        header = " | ".join(headings)
        lines += [header, "-" * min(len(header), 72)]
    lines += [" | ".join(" ".join(cell["text"].split()) for cell in row) for row in rows]
    return lines


_CONTEXTS = {
    "heading": dict,
    "paragraph": _paragraph,
    "image": _image,
    "citation": _citation,
    "video": _video,
    "callout": _callout,
    "table": _table,
    "quote": _quote,
    "code": _code,
    "verse": dict,
}
