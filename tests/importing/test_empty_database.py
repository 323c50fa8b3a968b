"""import_series on a database without the demo (issue 13): it creates the series index it needs,
as the site's home, and says so in one line."""

import pytest
from django.core.management import call_command
from wagtail.models import Site

from cms.models import PartPage, SeriesIndexPage, SeriesPage

pytestmark = pytest.mark.django_db


def test_import_into_an_empty_database_creates_the_series_index(tmp_path, capsys):
    assert not SeriesIndexPage.objects.exists()
    article = tmp_path / "knees.txt"
    article.write_text("Healthy knees\n\nKnees like load, given time to adapt to it.\n")
    call_command("import_series", "--series", "knees", "--create-series", "Healthy Knees",
                 str(article))
    out = capsys.readouterr().out
    index = SeriesIndexPage.objects.get()
    assert "Created the series index “Series” as the site's home page" in out
    assert Site.objects.get(is_default_site=True).root_page_id == index.pk
    series = SeriesPage.objects.get(slug="knees")
    assert series.get_parent().pk == index.pk
    assert PartPage.objects.filter(series=series).count() == 1
    assert "1 created" in out

    again = tmp_path / "more.txt"
    again.write_text("Stronger knees\n\nSquat to a box, then lower it week by week.\n")
    call_command("import_series", "--series", "knees", str(again))
    assert "Created the series index" not in capsys.readouterr().out
    assert SeriesIndexPage.objects.count() == 1
