"""HTML tables, code and verse as the body's table, code and verse blocks.

- Tables: the header row is the first row of <thead> (or leading rows made only of <th>); more
  header rows stay as ordinary rows, with a note. Merged cells (colspan, rowspan) are split:
  the text goes in the first cell, the others stay empty. A column whose cells carry links or
  emphasis is a rich-text column (whitelisted to bold, italic and links), any other is plain
  text. The caption is the table's <caption> or its figure's <figcaption>.
- <pre> is a code block (its language from a ``language-``/``lang-`` class or a ``brush:``
  setting, when it is a plain name) keeping every line and indent; WordPress's verse
  (``<pre class="wp-block-verse">``) is a verse block.
"""

import re

import lxml.html

from cms.text_blocks import LANGUAGE_PATTERN
from pipeline.importing.services.drafts import DraftBlock
from pipeline.importing.services.rich_text import CELL, paragraph_html

MAX_SPAN = 50
_LANGUAGE = re.compile(r"(?:\blanguage-|\blang-|brush:\s*)([\w+#.-]+)", re.I)
_LANGUAGE_NAME = re.compile(LANGUAGE_PATTERN)
_RICH_MARKUP = re.compile(r"<(?:a|b|strong|i|em)\b", re.I)
_TRAILING_BREAKS = re.compile(r"(?:\s*<br\s*/?>)+\s*(</p>)$", re.I)


def table_block(table, *, caption: str = "") -> tuple[DraftBlock | None, list[str]]:
    """The table block for a <table>, or None when it holds no text; and notes."""
    notes: list[str] = []
    rows = table.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")
    header_rows = [row for row in rows if _is_header_row(row)]
    leading = header_rows[: _leading_count(rows, header_rows)]
    grid = _grid(rows)
    width = max((len(cells) for cells in grid), default=0)
    if not width or not any(_text(cell) for cells in grid for cell in cells if cell is not None):
        return None, notes
    grid = [cells + [None] * (width - len(cells)) for cells in grid]
    headings = [""] * width
    body = grid
    if leading:
        headings = [_text(cell) for cell in grid[0]]
        body = grid[1:]
        if len(leading) > 1:
            notes.append(f"a table had {len(leading)} header rows: the first is the header, "
                         "the others are kept as rows")
    if _has_spans(rows):
        notes.append("merged table cells were split (the text is in the first cell)")
    rich = [any(cell is not None and _RICH_MARKUP.search(_cell_html(cell)) for cell in column)
            for column in zip(*body, strict=True)] if body else [False] * width
    caption_element = table.find("caption")
    caption = caption or (_text(caption_element) if caption_element is not None else "")
    value = {
        "columns": [{"type": "rich_text" if rich[index] else "text", "heading": heading}
                    for index, heading in enumerate(headings)],
        "rows": [{"values": [_cell_value(cell, rich=rich[index])
                             for index, cell in enumerate(cells)]} for cells in body],
        "caption": caption,
    }
    return DraftBlock("table", value), notes


def code_block(pre) -> DraftBlock | None:
    text = _pre_text(pre)
    if not text.strip():
        return None
    return DraftBlock("code", {"language": _language(pre), "text": text})


def verse_block(pre) -> DraftBlock | None:
    text = _pre_text(pre)
    if not text.strip():
        return None
    return DraftBlock("verse", {"text": text, "attribution": ""})


def is_verse(element) -> bool:
    return "wp-block-verse" in (element.get("class") or "").split()


def _is_header_row(row) -> bool:
    parent = row.getparent()
    if parent is not None and parent.tag == "thead":
        return True
    cells = [cell for cell in row if isinstance(cell.tag, str) and cell.tag in {"td", "th"}]
    return bool(cells) and all(cell.tag == "th" for cell in cells)


def _leading_count(rows: list, header_rows: list) -> int:
    """How many rows at the top of the table are header rows."""
    count = 0
    for row in rows:
        if row not in header_rows:
            break
        count += 1
    return count


def _grid(rows: list) -> list[list]:
    """Rows of cell elements, with None where a merged cell spans (colspan and rowspan)."""
    grid, spanning = [], {}  # column → rows still covered by a rowspan above
    for row in rows:
        cells, column = [], 0
        for cell in (c for c in row if isinstance(c.tag, str) and c.tag in {"td", "th"}):
            while spanning.get(column):
                spanning[column] -= 1
                cells.append(None)
                column += 1
            colspan, rowspan = _span(cell, "colspan"), _span(cell, "rowspan")
            cells.extend([cell] + [None] * (colspan - 1))
            for covered in range(column, column + colspan):
                if rowspan > 1:
                    spanning[covered] = rowspan - 1
            column += colspan
        while spanning.get(column):
            spanning[column] -= 1
            cells.append(None)
            column += 1
        grid.append(cells)
    return grid


def _span(cell, name: str) -> int:
    try:
        return max(1, min(MAX_SPAN, int(cell.get(name) or 1)))
    except ValueError:
        return 1


def _has_spans(rows: list) -> bool:
    return any(_span(cell, "colspan") > 1 or _span(cell, "rowspan") > 1
               for row in rows for cell in row if isinstance(cell.tag, str))


def _cell_value(cell, *, rich: bool) -> str:
    if cell is None:
        return ""
    return _cell_html(cell) if rich else _text(cell)


def _cell_html(cell) -> str:
    inner = lxml.html.tostring(cell, encoding="unicode", method="html", with_tail=False)
    inner = re.sub(r"^<t[dh][^>]*>|</t[dh]>$", "", inner.strip(), flags=re.I)
    return _TRAILING_BREAKS.sub(r"\1", paragraph_html(inner, CELL))


def _text(element) -> str:
    if element is None:
        return ""
    for line_break in element.iter("br"):
        line_break.tail = " " + (line_break.tail or "")
    return " ".join(element.text_content().split())


def _pre_text(pre) -> str:
    for line_break in pre.iter("br"):
        line_break.tail = "\n" + (line_break.tail or "")
    lines = pre.text_content().replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(line.rstrip() for line in lines)


def _language(pre) -> str:
    for element in [pre, *pre.iter("code")]:
        for attribute in ("class", "data-lang", "lang"):
            value = element.get(attribute) or ""
            match = _LANGUAGE.search(value) if attribute == "class" else None
            name = match.group(1) if match else (value if attribute != "class" else "")
            if name and _LANGUAGE_NAME.match(name):
                return name.lower()
    return ""

