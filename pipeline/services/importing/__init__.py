"""Import existing articles into a series: scraped pages (plain text or HTML) and WordPress WXR
exports. See importer.py for the flow and the module docstrings for each rule."""

from pipeline.services.importing.errors import ImportFileError
from pipeline.services.importing.importer import (
    FilePlan,
    ImportOptions,
    article_import,
    file_plan,
    series_for_import,
    series_import_files,
    series_import_plans,
)
from pipeline.services.importing.report import ArticleResult, FileResult, ImportReport

__all__ = [
    "ArticleResult", "FilePlan", "FileResult", "ImportFileError", "ImportOptions",
    "ImportReport", "article_import", "file_plan", "series_for_import", "series_import_files",
    "series_import_plans",
]
