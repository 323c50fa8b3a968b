"""StreamField blocks for a part's body. Each block's ``get_api_representation`` is its typed
data for the JSON API; ``render`` gives the ready HTML."""

from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock
from wagtail.snippets.blocks import SnippetChooserBlock


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
    presenter = blocks.CharBlock(max_length=120, help_text="Who demonstrates")
    presenter_role = blocks.CharBlock(required=False, max_length=120)

    class Meta:
        icon = "media"
        template = "cms/blocks/video.html"


class CalloutBlock(blocks.StructBlock):
    text = blocks.CharBlock(max_length=300, help_text="e.g. 'Read part 1 of the series'")
    part = blocks.PageChooserBlock(page_type="cms.PartPage")

    class Meta:
        icon = "link"
        template = "cms/blocks/callout.html"

    def get_api_representation(self, value, context=None):
        part = value.get("part")
        # A link to a part that is not live is shown as text only: drafts never leak.
        linked = part if part is not None and part.live else None
        return {
            "text": value.get("text", ""),
            "part": (
                {"number": linked.specific.part_number, "title": linked.title,
                 "url": linked.full_url}
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

    def get_api_representation(self, value, context=None):
        offer = value.get("offer")
        return {
            "headline": value.get("headline", ""),
            "offer_id": offer.pk if offer else None,
        }


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
