"""Demo content written for Partwork: one series with live parts, a scheduled part and an offer."""

import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site

from cms.models import Offer, PartPage, SeriesIndexPage, SeriesPage

DEMO_SERIES_SLUG = "strong-back"

PARTS = [
    (
        "Five myths about low back pain",
        "Most back pain is not damage. Here is what the research says instead.",
        [
            ("heading", {"text": "Pain is not the same as damage", "level": "h2"}),
            ("paragraph", "<p>Scans of people with no pain at all show disc bulges and wear. "
                          "What you feel depends on far more than what a picture shows.</p>"),
            ("citation", {"year": 2015, "source": "American Journal of Neuroradiology",
                          "finding": "Imaging findings of spine degeneration are present in high "
                                     "proportions of asymptomatic individuals.",
                          "url": "https://example.org/studies/ajnr-2015"}),
            ("image", {"image": None, "caption": "Moving is usually safer than resting.",
                       "alt_text": "A person walking outdoors"}),
        ],
    ),
    (
        "Why the hips matter",
        "Stiff hips make the lower back do work it was never built for.",
        [
            ("paragraph", "<p>When the hips cannot move, the spine moves instead. Restoring hip "
                          "motion takes load off the back.</p>"),
            ("video", {"url": "https://example.org/videos/hip-flow", "title": "Hip flow",
                       "presenter": "Sam Rivera", "presenter_role": "Physical therapist"}),
            ("offer", {"headline": "Start the programme this week"}),
        ],
    ),
    (
        "Core stability that carries over",
        "Bracing while you move, not just while you lie on the floor.",
        [
            ("paragraph", "<p>A stable trunk lets the limbs move freely. Train it standing, "
                          "carrying and pressing.</p>"),
            ("callout", {"text": "Start with part 1 if you missed it"}),
        ],
    ),
    (
        "Putting it together",
        "A weekly plan that joins hips, core and walking.",
        [("paragraph", "<p>Three short sessions a week, each building on the last.</p>")],
    ),
]


def site_root() -> Page:
    """Wagtail's tree root, recreated if a flush removed what the migrations made."""
    root = Page.get_first_root_node()
    if root is None:
        locale = Locale.get_default() if Locale.objects.exists() else Locale.objects.create(
            language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE)
        )
        # A flush also empties the content types: forget the cached ones before using them.
        ContentType.objects.clear_cache()
        root = Page.add_root(instance=Page(
            title="Root", slug="root", locale=locale, live=True,
            content_type=ContentType.objects.get_for_model(Page),
        ))
    return root


@transaction.atomic
def series_index_get_or_create() -> tuple[SeriesIndexPage, bool]:
    """The page every series lives under, made the default site's home (at BASE_URL) with
    Wagtail's placeholder "Welcome" page removed; created when the database has none."""
    index = SeriesIndexPage.objects.first()
    created = index is None
    if created:
        index = site_root().add_child(instance=SeriesIndexPage(title="Series", slug="series"))
        index.save_revision().publish()
    base = urlsplit(settings.BASE_URL)
    site = Site.objects.filter(is_default_site=True).first() or Site(is_default_site=True)
    site.hostname = base.hostname or "localhost"
    site.port = base.port or (443 if base.scheme == "https" else 80)
    site.root_page = index
    site.site_name = "Partwork"
    site.save()
    Page.objects.filter(depth=2).exclude(pk=index.pk).filter(
        content_type__model="page"
    ).delete()  # Wagtail's "Welcome" page
    return index, created


@transaction.atomic
def load_demo(*, stdout=None) -> SeriesPage:
    say = stdout.write if stdout else (lambda *_: None)
    now = timezone.now()
    offer, _ = Offer.objects.get_or_create(
        code="corrective",
        defaults={
            "name": "Corrective programme — this week",
            "percent_off": 35,
            "terms": "Online corrective exercise programmes only. One use per customer.",
            "landing_url": f"{settings.BASE_URL}/shop/corrective/",
            "starts_at": now - timedelta(days=1),
            "ends_at": now + timedelta(days=6),
        },
    )
    if offer.live and offer.latest_revision is None:
        offer.save_revision().publish()

    index, _ = series_index_get_or_create()
    series = SeriesPage.objects.filter(slug=DEMO_SERIES_SLUG).first()
    if series is not None:
        say(f"Demo series already present: {series.title}")
        return series
    series = index.add_child(
        instance=SeriesPage(
            title="A Strong Back",
            slug=DEMO_SERIES_SLUG,
            summary="A four-part series on easing low back pain through hips and core.",
            time_zone="Europe/London",
        )
    )
    series.save_revision().publish()
    first_part = None
    for number, (title, standfirst, blocks) in enumerate(PARTS, start=1):
        body = []
        for kind, value in blocks:
            if kind == "offer":
                value = {**value, "offer": offer}
            if kind == "callout":
                value = {**value, "part": first_part}
            body.append((kind, value))
        part = series.add_child(
            instance=PartPage(title=title, standfirst=standfirst, body=body, part_number=number)
        )
        if number < len(PARTS):
            part.save_revision().publish()
        else:
            part.go_live_at = now + timedelta(days=7)
            part.save_revision().publish()  # stays scheduled until go_live_at
        first_part = first_part or part
    say(f"Loaded demo series {series.title!r} with {len(PARTS)} parts (one scheduled).")
    return series


def ensure_admin(*, password_file) -> tuple[str, str]:
    """Create the demo admin once; its password is kept in the data directory and reprinted."""
    User = get_user_model()
    username = "admin"
    if password_file.exists() and User.objects.filter(username=username).exists():
        return username, password_file.read_text().strip()
    password = secrets.token_urlsafe(12)
    user, _ = User.objects.get_or_create(
        username=username, defaults={"email": "admin@partwork.localhost"}
    )
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    password_file.parent.mkdir(parents=True, exist_ok=True)
    password_file.write_text(password)
    password_file.chmod(0o600)
    return username, password
