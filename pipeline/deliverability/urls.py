from django.urls import path

from pipeline.deliverability.views import postmark_webhook, ses_webhook

urlpatterns = [
    path("ses/", ses_webhook, name="ses-webhook"),
    path("postmark/", postmark_webhook, name="postmark-webhook"),
]
