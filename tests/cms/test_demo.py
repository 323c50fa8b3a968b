import io
import re

import pytest
from django.core.management import call_command

from cms.models import Offer, PartPage

pytestmark = pytest.mark.django_db


def test_demo_loads_once_and_its_printed_login_opens_the_admin(client, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    call_command("load_demo", stdout=io.StringIO())  # idempotent
    assert PartPage.objects.count() == 4
    assert PartPage.objects.filter(live=True).count() == 3
    assert Offer.objects.active().filter(code="corrective").exists()

    user, password = re.search(r"user: (\S+)\s+password: (\S+)", out.getvalue()).groups()
    response = client.post("/admin/login/", {"username": user, "password": password})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    series = client.get("/api/series").json()
    assert [s["slug"] for s in series] == ["strong-back"]
    assert series[0]["part_count"] == 3
