from django.urls import path, re_path

from pipeline.campaigns import views
from pipeline.campaigns.services.web_version import TOKEN_PATTERN

urlpatterns = [
    path("series/<slug:slug>/", views.series_email_archive, name="series_email_archive"),
    re_path(rf"^(?P<token>{TOKEN_PATTERN})/$", views.web_version, name="campaign_web_version"),
]
