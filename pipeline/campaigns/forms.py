"""The admin form for discount campaigns (the part editor never edits campaigns directly)."""

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from wagtail.admin.forms import WagtailAdminModelForm


class CampaignAdminForm(WagtailAdminModelForm):
    reminder_hours = forms.DecimalField(
        required=False, min_value=0.25, max_value=24 * 14, decimal_places=2,
        label="Last-chance reminder (hours before the offer ends)",
        help_text="Leave empty for no reminder. E.g. 24 sends one a day before the end.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance and self.instance.reminder_before:
            self.initial["reminder_hours"] = round(
                self.instance.reminder_before.total_seconds() / 3600, 2
            )
        if "audience_series" in self.fields:
            self.fields["audience_series"].widget = forms.CheckboxSelectMultiple(
                choices=self.fields["audience_series"].choices
            )

    def clean(self):
        cleaned = super().clean()
        if self.instance.kind in ("discount", "last_chance", "") and not cleaned.get("offer"):
            self.add_error("offer", "Choose the offer this campaign is about.")
        if cleaned.get("audience") == "series" and not cleaned.get("audience_series"):
            self.add_error("audience_series", "Choose at least one series, or send to all.")
        if self.instance.status not in ("", "draft"):
            raise ValidationError("Only a draft can be edited; cancel it and make a new one.")
        return cleaned

    def save(self, commit=True):
        hours = self.cleaned_data.get("reminder_hours")
        self.instance.reminder_before = timedelta(hours=float(hours)) if hours else None
        return super().save(commit=commit)
