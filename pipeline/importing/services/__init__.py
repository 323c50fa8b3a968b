"""Import existing articles into a series: scraped pages (plain text or HTML) and WordPress WXR
exports. See importer.py for the flow and the module docstrings for each rule."""

from pipeline.importing.services.errors import ImportFileError
from pipeline.importing.services.importer import (
    FilePlan,
    ImportOptions,
    article_import,
    file_plan,
    series_for_import,
    series_import_files,
    series_import_plans,
)
from pipeline.importing.services.report import ArticleResult, FileResult, ImportReport

__all__ = [
    "ArticleResult", "FilePlan", "FileResult", "ImportFileError", "ImportOptions",
    "ImportReport", "article_import", "file_plan", "series_for_import", "series_import_files",
    "series_import_plans",
]
