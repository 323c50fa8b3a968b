from django.urls import path

from pipeline.webhooks import mailchimp_list_webhook

urlpatterns = [
    path("mailchimp/<str:secret>/", mailchimp_list_webhook, name="mailchimp-list-webhook"),
]
