"""StreamField blocks for a part's body. Each block's ``get_api_representation`` is its typed
data for the JSON API; ``render`` gives the ready HTML.

What a reader must never get is decided here, once, for the page, its previews and the API: an
offer block shows nothing while its offer is not active (a draft, not started or ended); a
call-out links only a live, public part; a video links only an http(s) address, and the body's
``clean`` refuses any other (and any link Wagtail's whitelist would drop from a paragraph, a
quote or a table cell), for editors and imports alike. Tables, quotes, code and verse live in
cms/text_blocks.py."""

from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from wagtail import blocks
from wagtail.blocks.stream_block import StreamBlockValidationError
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.images.blocks import ImageChooserBlock
from wagtail.snippets.blocks import SnippetChooserBlock
from wagtail.whitelist import check_url

from cms.links import public_url
from cms.text_blocks import CodeBlock, QuoteBlock, TableBlock, VerseBlock

WEB_SCHEMES = ("http", "https")


def is_web_url(url) -> bool:
    """An absolute http:// or https:// address: never javascript:, data:, file: or relative."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.netloc)


def is_public_page(page) -> bool:
    """Live and under no view restriction, its own or an ancestor's (Wagtail's privacy)."""
    return page is not None and page.live and not page.get_view_restrictions().exists()


def unsafe_links(rich_text_html: str) -> list[str]:
    """The links in stored rich text that Wagtail's whitelist would drop (javascript: and co)."""
    soup = BeautifulSoup(rich_text_html or "", "html.parser")
    links = soup.find_all("a", href=True)
    return [link["href"] for link in links if check_url(link["href"]) is None]


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=200)
    level = blocks.ChoiceBlock(choices=[("h2", "Heading 2"), ("h3", "Heading 3")], default="h2")

    class Meta:
        icon = "title"
        template = "cms/blocks/heading.html"


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock(
        required=False, help_text="Leave empty to keep a placeholder with the caption."
    )
    caption = blocks.CharBlock(required=False, max_length=500)
    alt_text = blocks.CharBlock(required=False, max_length=250)

    class Meta:
        icon = "image"
        template = "cms/blocks/image.html"

    def get_api_representation(self, value, context=None):
        image = value.get("image")
        return {
            "image": (
                {
                    "id": image.id,
                    "url": image.file.url,
                    "width": image.width,
                    "height": image.height,
                }
                if image
                else None
            ),
            "caption": value.get("caption", ""),
            "alt_text": value.get("alt_text", "") or value.get("caption", ""),
        }


class CitationBlock(blocks.StructBlock):
    year = blocks.IntegerBlock(min_value=1800, max_value=2100)
    source = blocks.CharBlock(required=False, max_length=300, help_text="Journal, authors")
    finding = blocks.TextBlock(help_text="The quoted finding")
    url = blocks.URLBlock(required=False)

    class Meta:
        icon = "openquote"
        template = "cms/blocks/citation.html"


class VideoBlock(blocks.StructBlock):
    url = blocks.URLBlock(help_text="Link to the video (YouTube, Vimeo, or a file)")
    title = blocks.CharBlock(required=False, max_length=200)
    presenter = blocks.CharBlock(
        required=False, max_length=120,
        help_text="Who demonstrates (empty when the video credits nobody)",
    )
    presenter_role = blocks.CharBlock(required=False, max_length=120)

    class Meta:
        icon = "media"
        template = "cms/blocks/video.html"

    def clean(self, value):
        cleaned = super().clean(value)
        if not is_web_url(cleaned.get("url")):
            raise StructBlockValidationError(
                block_errors={"url": ValidationError("Use an http:// or https:// address.")}
            )
        return cleaned

    # A link stored before clean() refused it is shown as text, never followed.
    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        context["url"] = value.get("url") if is_web_url(value.get("url")) else ""
        return context

    def get_api_representation(self, value, context=None):
        data = super().get_api_representation(value, context=context)
        if not is_web_url(data.get("url")):
            data["url"] = ""
        return data


class CalloutBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=300, help_text="e.g. 'Read part 1 of the series'")
    part = blocks.PageChooserBlock(page_type="cms.PartPage")

    class Meta:
        icon = "link"
        template = "cms/blocks/callout.html"

    @staticmethod
    def linked_part(value):
        """The part to link, or None: drafts and private parts are shown as text only."""
        part = value.get("part")
        return part if is_public_page(part) else None

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        context["linked"] = self.linked_part(value)
        return context

    def get_api_representation(self, value, context=None):
        linked = self.linked_part(value)
        return {
            "text": value.get("text", ""),
            "part": (
                {"number": linked.specific.part_number, "title": linked.title,
                 "url": public_url(linked)}
                if linked
                else None
            ),
        }


class OfferBlock(blocks.StructBlock):
    offer = SnippetChooserBlock("cms.Offer")
    headline = blocks.CharBlock(required=False, max_length=200)

    class Meta:
        icon = "tag"
        template = "cms/blocks/offer.html"

    @staticmethod
    def shown_offer(value):
        """The block's offer while it is active; None while it is a draft, not started or ended
        (then nothing of the block shows: an imported headline often names the code)."""
        offer = value.get("offer")
        return offer if offer is not None and offer.is_active() else None

    def render(self, value, context=None):
        if self.shown_offer(value) is not None:
            return super().render(value, context=context)
        request = context.get("request") if context else None
        if getattr(request, "is_preview", False):
            return format_html(
                '<aside class="pw-offer-hidden"><em>Offer block hidden from readers: {}.</em>'
                "</aside>",
                _why_hidden(value.get("offer")),
            )
        return mark_safe("")

    def get_api_representation(self, value, context=None):
        offer = self.shown_offer(value)
        return {
            "headline": value.get("headline", "") if offer else "",
            "offer_id": offer.pk if offer else None,
        }


def _why_hidden(offer) -> str:
    """For editors' previews: why readers see nothing (never the code or the headline)."""
    if offer is None:
        return "its offer was deleted"
    if not offer.live:
        return "its offer is a draft"
    if timezone.now() < offer.starts_at:
        return f"its offer starts {offer.starts_at:%Y-%m-%d %H:%M} UTC"
    return f"its offer ended {offer.ends_at:%Y-%m-%d %H:%M} UTC"


class PartBodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        features=["bold", "italic", "link", "ol", "ul", "blockquote"], icon="pilcrow"
    )
    image = ImageBlock()
    citation = CitationBlock()
    video = VideoBlock()
    callout = CalloutBlock()
    offer = OfferBlock()
    table = TableBlock()
    quote = QuoteBlock()
    code = CodeBlock()
    verse = VerseBlock()

    def clean(self, value):
        cleaned = super().clean(value)
        errors = {
            index: ValidationError(
                "Links must be web, mail or phone addresses; refused: "
                + ", ".join(unsafe[:3])
            )
            for index, child in enumerate(cleaned)
            if (unsafe := [url for source in rich_text_sources(child)
                           for url in unsafe_links(source)])
        }
        if errors:
            raise StreamBlockValidationError(block_errors=errors)
        return cleaned


def rich_text_sources(child) -> list[str]:
    """The stored rich text of one body block: a paragraph's, a quote's, a table's cells'."""
    if child.block_type == "paragraph":
        return [child.value.source]
    sources = getattr(child.block, "rich_text_sources", None)
    return sources(child.value) if sources else []
