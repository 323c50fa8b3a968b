"""Blocks for the structured text an article carries besides paragraphs: tables, quotes, code
(and preformatted text) and verse.

Nothing here stores raw HTML: table cells are plain text or rich text limited to bold, italic
and links; a quote is rich text with those and lists; code and verse are plain text, escaped
when shown. The rich text these blocks hold is listed by ``rich_text_sources`` so the part
body's ``clean`` checks its links like a paragraph's (cms/blocks.py)."""

from django.core.validators import RegexValidator
from wagtail import blocks
from wagtail.contrib.typed_table_block.blocks import TypedTable, TypedTableBlock
from wagtail.rich_text import expand_db_html

CELL_FEATURES = ["bold", "italic", "link"]
QUOTE_FEATURES = ["bold", "italic", "link", "ol", "ul"]
LANGUAGE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9+#._-]{0,39}$"


class TableBlock(TypedTableBlock):
    """A table with a caption and a header row (the column headings; none when all are
    empty). Each column holds plain text or rich text (bold, italic, links)."""

    text = blocks.CharBlock(required=False, label="Text")
    rich_text = blocks.RichTextBlock(features=CELL_FEATURES, required=False, label="Rich text")

    class Meta:
        icon = "table"
        template = "cms/blocks/table.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        context["headed"] = table_has_header(value)
        return context

    def get_api_representation(self, value, context=None):
        """Columns (type "text" or "rich_text", heading), rows of cells (plain text, or HTML
        for rich_text columns), the caption and whether the first row is a header."""
        return {
            "caption": value.caption,
            "has_header_row": table_has_header(value),
            "columns": [{"type": column["block"].name, "heading": column["heading"]}
                        for column in value.columns],
            "rows": [[cell_html(cell) if column["block"].name == "rich_text" else (cell or "")
                      for column, cell in zip(value.columns, row["values"], strict=False)]
                     for row in value.row_data],
        }

    def rich_text_sources(self, value: TypedTable) -> list[str]:
        return [cell.source for row in value.row_data
                for column, cell in zip(value.columns, row["values"], strict=False)
                if column["block"].name == "rich_text" and cell is not None]


def table_has_header(value: TypedTable) -> bool:
    return any(column["heading"] for column in value.columns)


def cell_html(cell) -> str:
    """A rich-text cell as HTML (internal links and references expanded)."""
    return expand_db_html(cell.source) if cell is not None else ""


class QuoteBlock(blocks.StructBlock):
    """A quotation or pull quote, with who said it."""

    text = blocks.RichTextBlock(features=QUOTE_FEATURES)
    attribution = blocks.CharBlock(required=False, max_length=300,
                                   help_text="Who said or wrote it (optional)")

    class Meta:
        icon = "openquote"
        template = "cms/blocks/quote.html"

    def get_api_representation(self, value, context=None):
        return {"html": expand_db_html(value["text"].source),
                "attribution": value.get("attribution", "")}

    def rich_text_sources(self, value) -> list[str]:
        return [value["text"].source]


class CodeBlock(blocks.StructBlock):
    """Code or preformatted text, shown as typed (white space kept)."""

    language = blocks.CharBlock(
        required=False, max_length=40,
        validators=[RegexValidator(LANGUAGE_PATTERN, "A language name such as python or css.")],
        help_text="e.g. python, css; empty for preformatted text",
    )
    text = blocks.TextBlock()

    class Meta:
        icon = "code"
        template = "cms/blocks/code.html"


class VerseBlock(blocks.StructBlock):
    """A poem or lyrics: every line break and indent kept."""

    text = blocks.TextBlock()
    attribution = blocks.CharBlock(required=False, max_length=300)

    class Meta:
        icon = "pilcrow"
        template = "cms/blocks/verse.html"
