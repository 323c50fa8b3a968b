"""The site's urls plus Wagtail's stock API v2 at /wagtail-api/v2/, for bench/api_throughput.py
only: the project's own urlconf (config/urls.py) does not route the stock API."""

from django.urls import path
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet

from config.urls import urlpatterns as site_urlpatterns

wagtail_api = WagtailAPIRouter("wagtailapi")
wagtail_api.register_endpoint("pages", PagesAPIViewSet)

# Before the site's patterns: they end with Wagtail's catch-all page route.
urlpatterns = [path("wagtail-api/v2/", wagtail_api.urls), *site_urlpatterns]
