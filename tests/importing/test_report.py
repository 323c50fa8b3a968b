"""Issue 14, item 4: a report a person can read. Identical notes once, with a count and the
parts they concern; a kind of note with many details on one line; a one-line summary at the
end; --json for scripts."""

import json

import pytest
from django.core.management import call_command

from pipeline.importing.services.report import parts_label
from tests.support.factories import make_series
from tests.support.importing import wxr_document, wxr_item

pytestmark = pytest.mark.django_db

WINDMILL = "https://blog.example/uploads/windmill.jpg"


def export(tmp_path, *, images_per_post: int = 0):
    posts = []
    for post_id in range(1, 4):
        extra = "".join(f'<img src="https://blog.example/uploads/{post_id}-{n}.jpg">'
                        for n in range(images_per_post))
        posts.append(wxr_item(post_id, f"Post {post_id}", (
            f'<p>Words of post {post_id}.</p><img src="{WINDMILL}" alt="Windmill">{extra}'
            "<!-- wp:archives /-->")))
    path = tmp_path / "export.xml"
    path.write_text(wxr_document(*posts))
    return path


def run(*args) -> None:
    make_series(slug="report")
    call_command("import_series", "--series", "report", *map(str, args))


def test_identical_notes_are_grouped_with_their_parts_and_a_summary_ends_it(tmp_path, capsys):
    run(export(tmp_path))
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    text = " ".join(lines)
    assert f"note (3×, parts 1–3): image placeholder (file not available): {WINDMILL}" in text
    assert "note (3×, parts 1–3): dynamic WordPress block kept as a visible marker: archives" \
        in text
    assert text.count("windmill.jpg") == 1
    assert "Files" in lines and "Articles" in lines
    assert lines[-1] == ("3 created, 0 updated, 0 unchanged, 0 failed; 1 file(s), 0 with "
                         "errors; images: 0 attached, 3 placeholder(s); 6 note(s), 2 different")


def test_a_kind_of_note_with_many_details_is_one_line_unless_verbose(tmp_path, capsys):
    path = export(tmp_path, images_per_post=2)
    run("--dry-run", path)
    text = " ".join(capsys.readouterr().out.split())
    assert ("note (9×, parts 1–3): image placeholder (file not available): 7 different, e.g. "
            f"{WINDMILL} (--verbose-report or --json lists them all)") in text
    call_command("import_series", "--series", "report", "--verbose-report", str(path))
    verbose = " ".join(capsys.readouterr().out.split())
    assert "note (part 2): image placeholder (file not available): " \
           "https://blog.example/uploads/2-1.jpg" in verbose
    assert "kept (part 1): 5 block(s) from WordPress post 1" in verbose


def test_json_alone_on_standard_output_for_scripts(tmp_path, capsys):
    run("--json", export(tmp_path))
    output = capsys.readouterr()
    report = json.loads(output.out)
    assert "Files" not in output.err
    assert report["series_title"] == "Moving Well" and report["dry_run"] is False
    (file,) = report["files"]
    assert [a["part_number"] for a in file["articles"]] == [1, 2, 3]
    assert file["articles"][0]["block_counts"] == {"image": 1, "paragraph": 2}
    windmill = next(g for g in report["note_groups"] if WINDMILL in g["text"])
    assert (windmill["count"], windmill["parts"]) == (3, ["1", "2", "3"])
    assert report["summary"].startswith("3 created, 0 updated")


def test_parts_are_shown_as_runs():
    assert parts_label(["1", "2", "3", "5", "7", "8", "12"]) == "1–3, 5, 7, 8, 12"
    assert parts_label(["4", "a.txt#title:x"]) == "4, a.txt#title:x"
