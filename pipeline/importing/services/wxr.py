"""Parse a WordPress eXtended RSS (WXR) export safely.

defusedxml refuses any DTD outright, which rules out entity expansion (billion laughs) and
external entities (file://, http://) before the parser could act on them; WXR files never carry
a DTD. The parser never opens the network or another file. Size is bounded by the file reader.
"""

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden

from pipeline.importing.services.errors import ImportFileError

WP_NAMESPACES = ("http://wordpress.org/export/", "https://wordpress.org/export/")
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


@dataclass
class WxrItem:
    post_id: int
    post_type: str
    status: str
    title: str
    slug: str
    link: str
    guid: str
    author: str
    content: str
    excerpt: str
    date_gmt: datetime | None
    password: str
    parent_id: int
    menu_order: int
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    attachment_url: str = ""
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class WxrExport:
    site_title: str
    site_url: str
    authors: dict[str, str]  # login → display name
    items: list[WxrItem]
    site_urls: list[str] = field(default_factory=list)  # the blog's, the site's, the link


def wxr_parse(*, data: bytes) -> WxrExport:
    try:
        root = SafeElementTree.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DTDForbidden:
        raise ImportFileError(
            "the XML declares a DTD (<!DOCTYPE ...>), which WordPress exports never do; refused "
            "to protect against entity expansion and external entities"
        ) from None
    except EntitiesForbidden:
        raise ImportFileError("the XML declares entities; refused (entity expansion)") from None
    except DefusedXmlException as error:
        raise ImportFileError(f"unsafe XML refused: {type(error).__name__}") from None
    except ParseError as error:
        line, column = error.position
        raise ImportFileError(
            f"malformed XML at line {line}, column {column}: {_expat_reason(error)}"
        ) from None

    namespace = _wp_namespace(root)
    if root.tag != "rss" or namespace is None:
        raise ImportFileError(
            "an XML file that is not a WordPress export (no <rss> root with the "
            "wordpress.org/export namespace)"
        )
    channel = root.find("channel")
    if channel is None:
        raise ImportFileError("the WordPress export has no <channel>")

    def wp(name: str) -> str:
        return f"{{{namespace}}}{name}"

    authors = {
        _text(author, wp("author_login")): _text(author, wp("author_display_name"))
        for author in channel.findall(wp("author"))
    }
    items = [_item(element, wp) for element in channel.findall("item")]
    return WxrExport(
        site_title=_text(channel, "title"),
        site_url=_text(channel, wp("base_blog_url")) or _text(channel, "link"),
        authors=authors,
        items=items,
        site_urls=[url for url in (_text(channel, wp("base_blog_url")),
                                   _text(channel, wp("base_site_url")), _text(channel, "link"))
                   if url],
    )


def _item(element: Element, wp) -> WxrItem:
    categories, tags = [], []
    for term in element.findall("category"):
        name = (term.text or "").strip()
        if not name:
            continue
        domain = term.get("domain")
        if domain == "category" and name not in categories:
            categories.append(name)
        elif domain == "post_tag" and name not in tags:
            tags.append(name)
    meta = {
        _text(entry, wp("meta_key")): _text(entry, wp("meta_value"))
        for entry in element.findall(wp("postmeta"))
    }
    return WxrItem(
        post_id=_int(_text(element, wp("post_id"))),
        post_type=_text(element, wp("post_type")),
        status=_text(element, wp("status")),
        title=clean_title(_text(element, "title")),
        slug=unquote(_text(element, wp("post_name"))),
        link=_text(element, "link"),
        guid=_text(element, "guid"),
        author=_text(element, DC_CREATOR),
        content=element.findtext(CONTENT) or "",
        excerpt=element.findtext(wp("x").replace("}x", "excerpt/}encoded")) or "",
        date_gmt=(_date(_text(element, wp("post_date_gmt")))
                  or _date(_text(element, wp("post_date")))),
        password=_text(element, wp("post_password")),
        parent_id=_int(_text(element, wp("post_parent"))),
        menu_order=_int(_text(element, wp("menu_order"))),
        categories=categories,
        tags=tags,
        attachment_url=_text(element, wp("attachment_url")),
        meta=meta,
    )


def clean_title(raw: str) -> str:
    """Titles may carry markup (<em>, <b>) and entities: keep the words only."""
    return " ".join(html.unescape(_TAG.sub("", raw)).split())


def _wp_namespace(root: Element) -> str | None:
    for element in root.iter():
        tag = element.tag
        if isinstance(tag, str) and tag.startswith("{"):
            uri = tag[1:].split("}", 1)[0]
            for prefix in WP_NAMESPACES:
                if uri.startswith(prefix) and "/excerpt/" not in uri:
                    return uri
    return None


def _text(element: Element, path: str) -> str:
    return (element.findtext(path) or "").strip()


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _date(value: str) -> datetime | None:
    if not value or value.startswith("0000"):
        return None
    try:
        # WordPress writes GMT dates without a zone; post_date (the fallback) is in the site's
        # zone, which the export does not name, so it is read as UTC too.
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _expat_reason(error: ParseError) -> str:
    reason = str(error).split(":")[0]
    if "invalid token" in reason or "not well-formed" in reason:
        reason += " (a stray '<' or '&', or bytes that are not in the declared encoding)"
    return reason
