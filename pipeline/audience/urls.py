from django.urls import path

from pipeline.audience.views import mailchimp_list_webhook

urlpatterns = [
    path("mailchimp/<str:secret>/", mailchimp_list_webhook, name="mailchimp-list-webhook"),
]
