"""WordPress-specific markup turned into plain HTML before mapping: Gutenberg block comments,
the [caption], [embed], [video] and [code]/[sourcecode] shortcodes, and the more/nextpage
markers. Other shortcodes are left in the text on purpose, so the editor sees them instead of
losing them."""

import html
import re

# Block attributes are JSON; they never contain "-->", which keeps a match inside one comment.
_ATTRIBUTES = r"(\s+\{(?:(?!-->).)*?\})?"
_SELF_CLOSING_BLOCK = re.compile(r"<!--\s*wp:([a-z0-9/-]+)" + _ATTRIBUTES + r"\s*/-->", re.S)
_BLOCK_COMMENT = re.compile(r"<!--\s*/?wp:[a-z0-9/-]+" + _ATTRIBUTES + r"\s*-->", re.S)
_MORE = re.compile(r"<!--\s*(more|nextpage|noteaser)\b.*?-->", re.S)
_CAPTION = re.compile(r"\[caption([^\]]*)\](.*?)\[/caption\]", re.S | re.I)
_CAPTION_ATTR = re.compile(r"""caption=(["'])(.*?)\1""", re.S)
_EMBED = re.compile(r"\[embed[^\]]*\]\s*(\S+?)\s*\[/embed\]", re.I)
_VIDEO = re.compile(r"\[video\b([^\]]*)\](?:\s*\[/video\])?", re.I)
_VIDEO_SOURCE = re.compile(r"""\b(?:src|mp4|m4v|webm|ogv|wmv|flv|mov)=(["'])(.*?)\1""", re.I)
_CODE = re.compile(r"\[(code|sourcecode)\b([^\]]*)\](.*?)\[/\1\]", re.S | re.I)
_CODE_LANGUAGE = re.compile(r"""\b(?:lang|language)=(["']?)([\w+#.-]+)\1""", re.I)
_IMG_OR_LINKED_IMG = re.compile(
    r"^\s*((?:<a\b[^>]*>\s*)?<img\b[^>]*>(?:\s*</a>)?)(.*)$", re.S | re.I
)

# Dynamic blocks render from the site's database and have no saved HTML: keep them visible.
_DYNAMIC_LABELS = {
    "latest-posts": "latest posts",
    "archives": "archives",
    "categories": "categories",
    "calendar": "calendar",
    "latest-comments": "latest comments",
    "rss": "RSS feed",
    "search": "search box",
    "tag-cloud": "tag cloud",
    "page-list": "page list",
    "shortcode": "shortcode",
}


def expand_wordpress_markup(content: str) -> tuple[str, list[str]]:
    notes: list[str] = []

    def dynamic_block(match: re.Match) -> str:
        name = match.group(1).removeprefix("core/")
        label = _DYNAMIC_LABELS.get(name, name)
        notes.append(f"dynamic WordPress block kept as a visible marker: {name}")
        return f"\n\n<p>[WordPress block: {html.escape(label)}]</p>\n\n"

    content = _SELF_CLOSING_BLOCK.sub(dynamic_block, content)
    content = _BLOCK_COMMENT.sub("\n", content)
    content = _MORE.sub("\n\n", content)
    content = _CAPTION.sub(_caption_to_figure, content)
    content = _EMBED.sub(lambda m: f"\n\n{m.group(1)}\n\n", content)
    content = _VIDEO.sub(_video_element, content)
    content = _CODE.sub(_code_element, content)
    return content, notes


def _video_element(match: re.Match) -> str:
    source = _VIDEO_SOURCE.search(match.group(1))
    if not source:
        return match.group(0)
    return f'\n\n<video src="{html.escape(html.unescape(source.group(2)))}"></video>\n\n'


def _code_element(match: re.Match) -> str:
    language = _CODE_LANGUAGE.search(match.group(2))
    css = f' class="language-{html.escape(language.group(2))}"' if language else ""
    # The shortcode's body is the code as typed: escape it, it is text, not markup.
    code = html.escape(html.unescape(match.group(3)).strip("\n"), quote=False)
    return f"\n\n<pre{css}><code>{code}</code></pre>\n\n"


def _caption_to_figure(match: re.Match) -> str:
    attributes, inner = match.group(1), match.group(2)
    image_match = _IMG_OR_LINKED_IMG.match(inner)
    if not image_match:
        return inner
    image, caption = image_match.group(1), image_match.group(2).strip()
    if not caption:
        attribute = _CAPTION_ATTR.search(attributes)
        caption = attribute.group(2) if attribute else ""
    figure = f'<figure class="wp-caption">{image}<figcaption>{caption}</figcaption></figure>'
    return f"\n\n{figure}\n\n"
