from django.conf import settings
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from cms.feeds import SeriesAtomFeed, SeriesRssFeed
from config.api import api
from config.ops_views import ENDPOINTS

# Wagtail's stock API v2 is not routed: it would serve the raw page tree beside our API. The
# comparison benchmark mounts it in its own urlconf (bench/wagtail_api_urls.py).
urlpatterns = [
    *(path(route.lstrip("/"), view) for route, view in ENDPOINTS.items()),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("api/", api.urls),
    path("hooks/", include("pipeline.audience.urls")),
    path("hooks/", include("pipeline.deliverability.urls")),
    path("email/", include("pipeline.campaigns.urls")),
    path("feeds/<str:slug>/rss/", SeriesRssFeed(), name="series-rss"),
    path("feeds/<str:slug>/atom/", SeriesAtomFeed(), name="series-atom"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [path("", include(wagtail_urls))]
