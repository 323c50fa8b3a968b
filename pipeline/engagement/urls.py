from django.urls import path

from pipeline.engagement import views

urlpatterns = [
    path("r/<int:link_id>/<str:token>", views.click, name="engagement_click"),
    path("o/<str:token>.gif", views.pixel, name="engagement_open"),
]
