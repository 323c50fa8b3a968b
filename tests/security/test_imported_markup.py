"""Issue 12, item 5: hostile markup in an import never becomes a live link. A WordPress export
carries a `javascript:` video or an iframe posing as YouTube; the operator imports it with
import_series; the reader then opens the part's page, its API answer and the admin's preview.
Whatever the block definitions refuse is dropped with a line in the import report, and the video
block refuses anything but http(s) from editors too."""

import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from wagtail.test.utils.form_data import nested_form_data, querydict_from_html, streamfield

from tests.support.factories import make_part, make_series
from tests.support.importing import wxr_document, wxr_item

pytestmark = pytest.mark.django_db

CREDIT = "<p>Physical therapist, Jessica Bento demonstrates the hip hinge.</p>"
SCRIPTED = re.compile(r"javascript|alert\(", re.I)


def import_post(tmp_path, capsys, content: str):
    series = make_series(title="Strong Back", slug="strong-back")
    export = tmp_path / "export.xml"
    export.write_text(wxr_document(wxr_item(7, "Hinge", f"<p>Hinge at the hips.</p>{content}")))
    call_command("import_series", "--series", "strong-back", str(export))
    report = " ".join(capsys.readouterr().out.split())
    part = series.parts.get()
    assert part.live
    return part, report


def faces(client, admin_client, part) -> dict[str, str]:
    """Everything a reader or an editor is shown of the part."""
    answers = {
        "page": client.get(part.url),
        "api": client.get(f"/api/series/strong-back/parts/{part.part_number}"),
        "admin preview": admin_client.get(
            reverse("wagtailadmin_pages:view_draft", args=[part.pk])
        ),
    }
    for face, answer in answers.items():
        assert answer.status_code == 200, face
    return {face: answer.content.decode() for face, answer in answers.items()}


def block_types(part) -> list[str]:
    return [block.block_type for block in part.body]


@pytest.mark.parametrize("credit", [CREDIT, ""], ids=["with credit", "without credit"])
def test_imported_javascript_video_is_dropped(client, admin_client, tmp_path, capsys, credit):
    part, report = import_post(
        tmp_path, capsys, f'{credit}<video src="javascript:alert(document.cookie)"></video>'
    )
    assert "video" not in block_types(part)
    for face, text in faces(client, admin_client, part).items():
        assert "Hinge at the hips." in text, face
        assert not SCRIPTED.search(text), face
    assert "dropped <video> source 'javascript:alert(document.cookie)'" in report


@pytest.mark.parametrize("credit", [CREDIT, ""], ids=["with credit", "without credit"])
def test_imported_javascript_iframe_posing_as_youtube_is_dropped(
    client, admin_client, tmp_path, capsys, credit
):
    part, report = import_post(
        tmp_path, capsys, f'{credit}<iframe src="javascript://youtube.com/%0aalert(1)"></iframe>'
    )
    assert "video" not in block_types(part)
    for face, text in faces(client, admin_client, part).items():
        assert not SCRIPTED.search(text), face
    assert "dropped <iframe> source 'javascript://youtube.com/%0aalert(1)'" in report


def test_imported_blocks_are_validated_by_their_definitions(
    client, admin_client, tmp_path, capsys
):
    """A web address the video block refuses (a space in it) is not saved unchecked."""
    part, report = import_post(
        tmp_path, capsys, f'{CREDIT}<video src="https://youtube.com/watch?v=a b"></video>'
    )
    assert block_types(part) == ["paragraph", "paragraph"]
    assert "youtube.com/watch?v=a b" not in faces(client, admin_client, part)["page"]
    assert ("dropped a video block refused by its definition: url "
            "'https://youtube.com/watch?v=a b': Enter a valid URL.") in report


def test_stored_javascript_video_url_is_never_a_link(client, admin_client):
    """A body saved before the block refused such addresses (an earlier import) stays inert."""
    series = make_series(title="Strong Back", slug="strong-back")
    video = {"url": "javascript://youtube.com/%0aalert(1)", "title": "Hinge",
             "presenter": "Jessica Bento", "presenter_role": ""}
    part = make_part(series, title="Hinge", body=[("video", video)])
    shown = faces(client, admin_client, part)
    for face, text in shown.items():
        assert "Jessica Bento" in text, face
        assert not SCRIPTED.search(text), face


def test_editor_cannot_store_a_non_web_video_url(admin_client):
    series = make_series(title="Strong Back", slug="strong-back")
    video = {"url": "https://youtube.com/watch?v=hinge", "title": "Hinge",
             "presenter": "Jessica Bento", "presenter_role": ""}
    part = make_part(series, title="Hinge", body=[("video", video)])
    revisions = part.revisions.count()
    edit = reverse("wagtailadmin_pages:edit", args=[part.pk])
    form = querydict_from_html(admin_client.get(edit).content.decode(), form_id="page-edit-form")
    # The stream's fields are drawn by the editor's JavaScript; these are what it posts.
    form.update(nested_form_data(
        {"body": streamfield([("video", {**video, "url": "ftp://files.example/hinge.mp4"})])}
    ))
    response = admin_client.post(edit, form)
    assert response.status_code == 200  # the form again, with the error
    assert "Use an http:// or https:// address." in response.content.decode()
    part.refresh_from_db()
    assert part.revisions.count() == revisions
    assert part.get_latest_revision_as_object().body[0].value["url"] == video["url"]
