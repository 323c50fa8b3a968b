"""Models for what happens to what editors write: subscribers, campaigns, the delivery ledger."""

from pipeline.importing_models import ImportedArticle  # noqa: F401
