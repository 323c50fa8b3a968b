"""What an import did, file by file and article by article, for the command to print."""

from dataclasses import dataclass, field


@dataclass
class ArticleResult:
    source: str
    title: str
    status: str  # created, updated, unchanged, error
    part_number: int | None = None
    part_id: int | None = None
    live: bool = False
    post_type: str = ""
    wp_status: str = ""
    block_counts: dict[str, int] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""
    offer_id: int | None = None


@dataclass
class FileResult:
    path: str
    kind: str = ""
    encoding: str = ""
    error: str = ""
    notes: list[str] = field(default_factory=list)
    articles: list[ArticleResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error and all(a.status != "error" for a in self.articles)


@dataclass
class ImportReport:
    series_title: str
    dry_run: bool
    files: list[FileResult] = field(default_factory=list)

    @property
    def articles(self) -> list[ArticleResult]:
        return [article for file in self.files for article in file.articles]

    def count(self, status: str) -> int:
        return sum(1 for article in self.articles if article.status == status)

    @property
    def failed_files(self) -> list[FileResult]:
        return [file for file in self.files if not file.ok]
