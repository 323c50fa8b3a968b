"""Tables, quotes, code and verse in a part: the page, the JSON API and the announcement email
show them, with nothing stored in them ever read as markup; the body's clean refuses the links
Wagtail's whitelist would drop, in quotes and table cells as in paragraphs."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cms.models import PartPage
from pipeline.campaigns.models import Campaign, CampaignKind
from pipeline.campaigns.services.rendering import campaign_render
from tests.support.factories import OfferFactory, make_part, make_series, publish_offer

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert(1)</script>"
TABLE = {
    "columns": [{"type": "text", "heading": "Drill <b>"}, {"type": "rich_text", "heading": "How"}],
    "rows": [{"values": [f"Hinge {HOSTILE}", '<p><a href="https://x.example/h">slow</a> '
                                            "<b>and</b> steady</p>"]},
             {"values": ["Carry", ""]}],
    "caption": f"Week one {HOSTILE}",
}
BODY = [
    ("table", TABLE),
    ("quote", {"text": "<p>Strength is a <i>skill</i>.</p>", "attribution": f"Pavel {HOSTILE}"}),
    ("code", {"language": "python", "text": f"def hinge():\n    return '{HOSTILE}'"}),
    ("verse", {"text": f"Hips that move\n  backs that last {HOSTILE}", "attribution": ""}),
    ("video", {"url": "https://youtu.be/x1", "title": "", "presenter": "",
               "presenter_role": ""}),
]


@pytest.fixture
def part():
    series = make_series(title="Strong Back", slug="strong-back")
    return make_part(series, title="Drills", body=BODY)


def test_the_page_shows_the_blocks_and_escapes_their_text(client, part):
    page = client.get(part.url).content.decode()
    assert "<script>alert(1)" not in page
    assert "<caption>Week one &lt;script&gt;alert(1)&lt;/script&gt;</caption>" in page
    assert '<th scope="col">Drill &lt;b&gt;</th>' in page
    assert '<td><p><a href="https://x.example/h">slow</a> <b>and</b> steady</p></td>' in page
    assert "<td>Hinge &lt;script&gt;" in page
    assert '<blockquote class="pw-quote"><p>Strength is a <i>skill</i>.</p><footer>— <cite>' \
           "Pavel &lt;script&gt;" in page
    assert "<pre class=\"pw-code\"><code class=\"language-python\">def hinge():\n    return " \
           "&#x27;&lt;script&gt;" in page
    assert '<p style="white-space: pre-wrap">Hips that move\n  backs that last &lt;script' in page
    video = page[page.index('<figure class="pw-video">'):]
    assert "With" not in video[:video.index("</figure>")]  # no presenter, no credit line


def test_the_api_gives_typed_values_with_their_html(client, part):
    body = client.get("/api/series/strong-back/parts/1").json()["body"]
    table, quote, code, verse, video = body
    assert table["value"] == {
        "caption": f"Week one {HOSTILE}",
        "has_header_row": True,
        "columns": [{"type": "text", "heading": "Drill <b>"},
                    {"type": "rich_text", "heading": "How"}],
        "rows": [[f"Hinge {HOSTILE}",
                  '<p><a href="https://x.example/h">slow</a> <b>and</b> steady</p>'],
                 ["Carry", ""]],
    }
    assert quote["value"] == {"html": "<p>Strength is a <i>skill</i>.</p>",
                              "attribution": f"Pavel {HOSTILE}"}
    assert code["value"] == dict(BODY[2][1]) and verse["value"] == dict(BODY[3][1])
    assert video["value"]["presenter"] == ""
    for block in body:
        assert "<script>" not in block["html"], block["type"]
    assert table["html"].startswith('<figure class="pw-table"><table><caption>')


def test_the_announcement_email_carries_the_body_escaped(part):
    campaign = Campaign(kind=CampaignKind.ANNOUNCEMENT, part=part, message="")
    rendered = campaign_render(campaign=campaign)
    assert "<script>" not in rendered.html
    assert "Week one &lt;script&gt;" in rendered.html
    assert '<a href="https://x.example/h">slow</a>' in rendered.html
    assert "def hinge():\n    return '&lt;script&gt;" in rendered.html
    text = rendered.text
    assert f"Week one {HOSTILE}\nDrill <b> | How\n" in text
    assert "Hinge <script>alert(1)</script> | slow (https://x.example/h) and steady" in text
    assert "> Strength is a skill.\n— Pavel" in text
    assert "    def hinge():\n        return '<script>" in text
    assert "Video: watch it: https://youtu.be/x1" in text


def test_the_email_leaves_out_offers_and_image_placeholders():
    series = make_series(title="Strong Back", slug="strong-back")
    offer = publish_offer(OfferFactory(code="corrective"))
    part = make_part(series, title="Offer", body=[
        ("paragraph", "<p>Before the offer.</p>"),
        ("offer", {"offer": offer, "headline": "35% off with code corrective"}),
        ("image", {"image": None, "caption": "hip mobility", "alt_text": ""}),
    ])
    rendered = campaign_render(campaign=Campaign(kind=CampaignKind.ANNOUNCEMENT, part=part))
    assert "Before the offer." in rendered.text
    assert "corrective" not in rendered.text + rendered.html
    assert "hip mobility" not in rendered.text


@pytest.mark.parametrize("block", [
    ("quote", {"text": '<p><a href="javascript:alert(1)">x</a></p>', "attribution": ""}),
    ("table", {**TABLE, "rows": [{"values": ["a", '<p><a href="javascript:alert(1)">x</a></p>']}]}),
], ids=["quote", "table cell"])
def test_the_body_refuses_unsafe_links_in_quotes_and_cells(block):
    definition = PartPage.body.field.stream_block
    with pytest.raises(ValidationError) as refused:
        definition.clean(definition.normalize([block]))
    assert "refused: javascript:alert(1)" in str(refused.value.block_errors[0])


def test_a_code_language_is_a_plain_name():
    definition = PartPage.body.field.stream_block
    with pytest.raises(ValidationError):
        definition.clean(definition.normalize(
            [("code", {"language": 'python" onclick="x', "text": "x"})]))
    definition.clean(definition.normalize([("code", {"language": "c++", "text": "x"})]))


def test_an_editor_opens_a_part_with_these_blocks(admin_client, part):
    answer = admin_client.get(reverse("wagtailadmin_pages:edit", args=[part.pk]))
    assert answer.status_code == 200
    assert "typed_table_block" in answer.content.decode()
