"""Pages of the team page's list: the rows are sorted worst first, so the first page holds
what needs attention; a browser is never handed thousands of rows at once."""

from dataclasses import dataclass

PAGE_SIZE = 50
NEAR = 2  # page links shown on each side of the current page


@dataclass(frozen=True)
class Paging:
    number: int  # 1-based
    per_page: int
    total: int  # rows over all pages

    @classmethod
    def of(cls, requested: str | int | None, *, total: int, per_page: int = PAGE_SIZE) -> "Paging":
        """The page asked for, kept inside the pages there are; anything that is not a
        page number (a stale or hand-edited link) means the first page."""
        try:
            number = int(requested or 1)
        except (TypeError, ValueError):
            number = 1
        pages = max(1, -(-total // per_page))
        return cls(number=min(max(number, 1), pages), per_page=per_page, total=total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def start(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def end(self) -> int:
        return min(self.start + self.per_page, self.total)

    @property
    def first_shown(self) -> int:
        return self.start + 1 if self.total else 0

    @property
    def is_paged(self) -> bool:
        return self.pages > 1

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None

    @property
    def links(self) -> list[int | None]:
        """Page numbers to link: the first, the last and those near the current page;
        None where numbers are left out."""
        wanted = {1, self.pages, *range(self.number - NEAR, self.number + NEAR + 1)}
        numbers = sorted(n for n in wanted if 1 <= n <= self.pages)
        shown: list[int | None] = []
        for n in numbers:
            if shown and n - shown[-1] > 1:
                shown.append(None)
            shown.append(n)
        return shown
