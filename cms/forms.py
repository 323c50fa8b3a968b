from wagtail.admin.forms import WagtailAdminPageForm


class PartPageForm(WagtailAdminPageForm):
    """Checks the part number against the series before the page joins the tree."""

    def clean(self):
        cleaned = super().clean()
        series = self.instance.series if self.instance.series_id else None
        if series is None and self.parent_page is not None:
            series = self.parent_page.specific
        number = cleaned.get("part_number")
        if series is not None and number:
            message = type(self.instance).number_clash(
                series.pk, number, exclude_pk=self.instance.pk
            )
            if message:
                self.add_error("part_number", message)
        return cleaned
