"""What an import did, file by file and article by article, for the command to print: notes
and dropped lines are grouped when identical (with a count and the parts they concern), the
whole report can be written as JSON, and it ends with a one-line summary."""

from dataclasses import asdict, dataclass, field


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
    images_attached: int = 0
    image_placeholders: int = 0
    kept: list[str] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str = ""
    offer_id: int | None = None

    @property
    def label(self) -> str:
        """How the report names the article: its part number, else where it came from."""
        return str(self.part_number) if self.part_number else self.source


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
class Group:
    """One note (or dropped line) and every article it was said of."""

    text: str
    count: int = 0
    parts: list[str] = field(default_factory=list)
    reason: str = ""  # for dropped lines: why

    @property
    def parts_label(self) -> str:
        return parts_label(self.parts)


@dataclass
class Kind:
    """Notes of one kind ("image placeholder (file not available): <url>"), their details
    being what follows the first ": "."""

    kind: str
    groups: list[Group] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(group.count for group in self.groups)

    @property
    def parts(self) -> list[str]:
        return list(dict.fromkeys(part for group in self.groups for part in group.parts))


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

    def note_groups(self) -> list[Group]:
        """Identical article notes once each, in the order first seen."""
        return _grouped((note, "", article) for article in self.articles
                        for note in article.notes)

    def note_kinds(self) -> list[Kind]:
        """The grouped notes by kind, in the order first seen."""
        kinds: dict[str, Kind] = {}
        for group in self.note_groups():
            kind = group.text.partition(": ")[0] if ": " in group.text else group.text
            kinds.setdefault(kind, Kind(kind=kind)).groups.append(group)
        return list(kinds.values())

    def dropped_groups(self) -> list[Group]:
        return _grouped((text, reason, article) for article in self.articles
                        for text, reason in article.dropped)

    def summary(self) -> str:
        articles = self.articles
        notes = sum(len(a.notes) for a in articles)
        offers = sum(1 for a in articles if a.offer_id)
        line = (
            f"{self.count('created')} created, {self.count('updated')} updated, "
            f"{self.count('unchanged')} unchanged, {self.count('error')} failed; "
            f"{len(self.files)} file(s), {len(self.failed_files)} with errors; "
            f"images: {sum(a.images_attached for a in articles)} attached, "
            f"{sum(a.image_placeholders for a in articles)} placeholder(s); "
            f"{notes} note(s), {len(self.note_groups())} different"
        )
        if offers:
            line += f"; {offers} draft offer(s) to check and publish"
        return ("DRY RUN, nothing saved: " if self.dry_run else "") + line

    def as_dict(self) -> dict:
        data = asdict(self)
        data["note_groups"] = [asdict(group) for group in self.note_groups()]
        data["dropped_groups"] = [asdict(group) for group in self.dropped_groups()]
        data["summary"] = self.summary()
        return data


def _grouped(entries) -> list[Group]:
    groups: dict[tuple[str, str], Group] = {}
    for text, reason, article in entries:
        group = groups.setdefault((text, reason), Group(text=text, reason=reason))
        group.count += 1
        if article.label not in group.parts:
            group.parts.append(article.label)
    return list(groups.values())


def parts_label(parts: list[str]) -> str:
    """"3, 5–9, 12": part numbers as runs; other labels (sources) as they are."""
    numbers = sorted(int(p) for p in parts if p.isdigit())
    runs: list[tuple[int, int]] = []
    for number in numbers:
        if runs and runs[-1][1] == number - 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    labels = [f"{a}" if a == b else f"{a}–{b}" if b > a + 1 else f"{a}, {b}" for a, b in runs]
    return ", ".join(labels + [p for p in parts if not p.isdigit()])
