"""Inputs for the importer: the shared seed page and WordPress export under ../shared (used by
tests/importing and bench/import_wordpress.py), and small WordPress exports built in code."""

from html import escape
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared"
SEED = SHARED / "seeds" / "000_54a0505d5ed85b50.txt"
WORDPRESS_EXPORT = SHARED / "wordpress" / "themeunittestdata.wordpress.xml"

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
