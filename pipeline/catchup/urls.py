from django.urls import path

from pipeline.catchup import views

urlpatterns = [
    path("<str:token>/", views.preferences, name="reader_preferences"),
    path("<str:token>/leave/", views.leave, name="reader_leave"),
    path("<str:token>/stop/<slug:slug>/", views.stop_series, name="reader_stop_series"),
    path("<str:token>/catchup/<slug:slug>/", views.catchup, name="reader_catchup"),
]
