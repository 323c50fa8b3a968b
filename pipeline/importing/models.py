"""Where each imported part came from, so a second import updates instead of duplicating."""

from django.db import models


class ImportedArticle(models.Model):
    """One source article (a scraped page, a text file, a WordPress post or page) and the part it
    became. WordPress metadata that PartPage has no field for (authors, categories, tags, status)
    is kept here so nothing from the source is lost."""

    class SourceKind(models.TextChoices):
        TEXT = "text", "Plain text page"
        HTML = "html", "HTML page"
        WXR = "wxr", "WordPress export"

    series = models.ForeignKey("cms.SeriesPage", on_delete=models.CASCADE, related_name="+")
    part = models.OneToOneField(
        "cms.PartPage", on_delete=models.CASCADE, related_name="import_source"
    )
    source_kind = models.CharField(max_length=8, choices=SourceKind.choices)
    # WordPress: "wxr:<site>#<post id>"; pages: their canonical URL; text: "title:<slug>".
    source_key = models.CharField(max_length=500)
    source_url = models.URLField(max_length=1000, blank=True)
    source_file = models.CharField(max_length=500, blank=True)
    content_hash = models.CharField(max_length=64, help_text="sha256 of the mapped content")
    original_title = models.TextField(blank=True, help_text="Untruncated title from the source")
    author = models.CharField(max_length=200, blank=True)
    categories = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    wp_post_type = models.CharField(max_length=20, blank=True)
    wp_status = models.CharField(max_length=20, blank=True)
    wp_password_protected = models.BooleanField(default=False)
    source_published_at = models.DateTimeField(null=True, blank=True)
    offer = models.ForeignKey(
        "cms.Offer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Draft offer suggested from the article's discount line",
    )
    first_imported_at = models.DateTimeField(auto_now_add=True)
    last_imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "pipeline_importedarticle"  # the table of the days of one app
        constraints = [
            models.UniqueConstraint(
                fields=["series", "source_key"], name="unique_import_source_in_series"
            )
        ]

    def __str__(self):
        return f"{self.source_key} → part {self.part_id}"
