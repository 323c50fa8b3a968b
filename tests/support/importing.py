"""Inputs for the importer: the shared seed page and WordPress export under ../shared (used by
tests/importing and bench/import_wordpress.py), and small WordPress exports built in code."""

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from xml.etree import ElementTree

SHARED = Path(__file__).resolve().parents[3] / "shared"
SEED = SHARED / "seeds" / "000_54a0505d5ed85b50.txt"
WORDPRESS_EXPORT = SHARED / "wordpress" / "themeunittestdata.wordpress.xml"
WP = "{https://wordpress.org/export/1.2/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
INLINE = r"</?(?:a|b|strong|em|i|span|sup|sub|code|abbr|del|ins|mark|small|cite|q)\b[^>]*>"

HEAD = """<?xml version="1.0" encoding="{encoding}"?>
{doctype}<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>Test blog</title><link>https://blog.example</link>
<wp:wxr_version>1.2</wp:wxr_version><wp:base_blog_url>https://blog.example</wp:base_blog_url>
"""


def wxr_item(post_id: int, title: str, content: str, *, status="publish", post_type="post",
             date="2020-01-0{day} 10:00:00", extra="") -> str:
    day = (post_id % 9) + 1
    return f"""<item><title>{escape(title)}</title>
<link>https://blog.example/?p={post_id}</link><dc:creator>editor</dc:creator>
<content:encoded><![CDATA[{content}]]></content:encoded>
<excerpt:encoded><![CDATA[]]></excerpt:encoded>
<wp:post_id>{post_id}</wp:post_id><wp:post_date_gmt>{date.format(day=day)}</wp:post_date_gmt>
<wp:post_name>{escape(title.lower().replace(' ', '-'))}</wp:post_name>
<wp:status>{status}</wp:status><wp:post_type>{post_type}</wp:post_type>
<wp:post_password></wp:post_password>{extra}</item>
"""


def wxr_document(*items: str, doctype: str = "", encoding: str = "UTF-8") -> str:
    return HEAD.format(doctype=doctype, encoding=encoding) + "".join(items) + "</channel></rss>\n"


SEED_VIDEOS = {"Physical therapist, Jessica Bento": "hipflow01", "Coach Cory Cripe": "sandbag02"}


def seed_as_wordpress_page(text: str, *, site: str = "https://shop.example") -> str:
    """The seed article as a saved WordPress page: theme chrome around it (header with the
    shop's account and cart, a newsletter form, a sidebar, a footer), its caption lines as
    captioned images, and a YouTube embed block before each presenter's line."""
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]
    title = next(p for p in paragraphs if p.startswith("Why Hip Mobility"))
    article = []
    for paragraph in paragraphs[paragraphs.index(title) + 1:]:
        credit = next((c for c in SEED_VIDEOS if paragraph.startswith(c)), None)
        if credit:
            article.append(
                '<figure class="wp-block-embed is-type-video is-provider-youtube '
                'wp-block-embed-youtube wp-embed-aspect-16-9 wp-has-aspect-ratio">'
                '<div class="wp-block-embed__wrapper"><iframe title="Hip mobility" width="640" '
                f'height="360" src="https://www.youtube.com/embed/{SEED_VIDEOS[credit]}'
                '?feature=oembed" frameborder="0" allowfullscreen></iframe></div></figure>')
        if len(paragraph.split()) <= 6 and paragraph[0].islower():
            name = paragraph.replace(" ", "-")
            article.append(
                f'<figure class="wp-block-image size-large"><img src="{site}/wp-content/uploads/'
                f'2020/01/{name}.jpg" alt="{escape(paragraph)}" class="wp-image-1"/>'
                f"<figcaption>{escape(paragraph)}</figcaption></figure>")
        else:
            article.append(f"<p>{escape(paragraph, quote=False)}</p>")
    body = "\n".join(article)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{escape(title)} | The Shop</title>
<link rel="canonical" href="{site}/blog/why-hip-mobility/">
<meta property="og:title" content="{escape(title)}"></head>
<body class="post-template-default single single-post">
<header class="site-header"><nav class="main-navigation"><ul><li><a href="/">Home</a></li>
<li><a href="/shop/">Programs</a></li><li><a href="/blog/">Blog</a></li></ul></nav>
<div class="header-cart"><a href="/my-account/">account</a> <a href="/cart/">My cart 0</a></div>
</header>
<div id="content" class="site-content"><main id="main" class="site-main">
<article class="post type-post status-publish format-standard hentry">
<header class="entry-header"><h1 class="entry-title">{escape(title)}</h1>
<div class="entry-meta"><span class="posted-on">Posted on <time>March 3, 2020</time></span>
<span class="byline"> by <a href="/author/coach/">Coach</a></span></div></header>
<div class="entry-content">
{body}
</div>
<footer class="entry-footer"><span class="cat-links">Posted in <a href="/category/back/">
Low Back Pain</a></span></footer></article></main>
<aside id="secondary" class="widget-area"><section class="widget widget_search">
<form role="search"><label>Search for:</label><input type="search" name="s"></form></section>
<section class="widget"><h2 class="widget-title">Newsletter</h2>
<form class="gform"><p>This field is for validation purposes and should be left unchanged.</p>
<input type="email"></form></section></aside></div>
<footer class="site-footer"><p>© 2020 The Shop. All rights reserved.</p>
<p><a href="/privacy/">Privacy policy</a></p></footer></body></html>"""


def body_words_source(body) -> list[str]:
    """The text of a part body's blocks as HTML (rich text as stored, plain text escaped),
    block by block: what the word-fidelity check counts. Tables give their caption, headings
    and cells; quotes, code and verse their text and attribution."""
    chunks = []
    for block in body:
        value = block.value
        if block.block_type == "paragraph":
            values = [value]
        elif block.block_type == "table":
            values = [value.caption, *(column["heading"] for column in value.columns),
                      *(cell for row in value.row_data for cell in row["values"])]
        else:
            values = list(dict(value).values())
        chunks.extend(v.source if hasattr(v, "source") else escape(str(v), quote=False)
                      for v in values if isinstance(v, str | int) or hasattr(v, "source"))
    return chunks


def export_items(path: Path) -> list[dict]:
    """The posts and pages of a WordPress export, read simply with the standard library (no
    code of the importer): what the acceptance tests and the bench compare against."""
    items = []
    for item in ElementTree.parse(path).getroot().iter("item"):
        post_type = item.findtext(f"{WP}post_type")
        if post_type not in {"post", "page"}:
            continue
        items.append({
            "id": int(item.findtext(f"{WP}post_id")),
            "type": post_type,
            "status": item.findtext(f"{WP}status"),
            "password": bool((item.findtext(f"{WP}post_password") or "").strip()),
            "title": (item.findtext("title") or "").strip(),
            "content": item.findtext(CONTENT) or "",
            "tags": sorted(c.text for c in item.findall("category")
                           if c.get("domain") == "post_tag"),
        })
    return items


def words(markup: str) -> set[str]:
    """The distinct words (3+ letters, lower case) of HTML; inline tags do not split words."""
    markup = re.sub(INLINE, "", markup)
    markup = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    return {w.lower() for w in re.findall(r"\w{3,}", markup)}


@dataclass
class Fidelity:
    worst: tuple[float, int, list[str]]  # (share kept, post id, some missing words)
    worst_three: list[tuple[float, int, list[str]]]
    overall: float  # words kept over words in the source, all posts together
    posts: int


def word_fidelity(items: list[dict], body_of: Callable[[int], Iterable[str]]) -> Fidelity:
    """How many of each post's words its imported body holds. Comments (Gutenberg's block
    delimiters) and [caption] attributes are markup, not words."""
    rows, kept_total, total = [], 0, 0
    for item in items:
        source = re.sub(r"<!--.*?-->", " ", item["content"], flags=re.S)
        source = re.sub(r"\[/?caption[^\]]*\]", " ", source)
        expected = words(source)
        if not expected:
            continue
        kept = expected & words(" ".join(body_of(item["id"])))
        rows.append((len(kept) / len(expected), item["id"], sorted(expected - kept)[:10]))
        kept_total, total = kept_total + len(kept), total + len(expected)
    rows.sort()
    return Fidelity(worst=rows[0], worst_three=rows[:3], overall=kept_total / total,
                    posts=len(rows))
