"""Fenced code inside list items, for Python-Markdown.

Its fenced-code extension only sees fences at the start of a line, so a fence indented
under a numbered step was read as text: the code fell out of the step or into one line,
and the list broke in two. This preprocessor runs first and rewrites each indented fence
as an indented code block nested in the list item (the item's four spaces plus the code
block's four), between blank lines; the list then carries on with the next step.
"""

import re

from markdown import Extension
from markdown.preprocessors import Preprocessor

OPENING = re.compile(r"^(?P<indent> {1,12})(?P<fence>`{3,}|~{3,})[\w+-]*\s*$")
NESTED = " " * 8


class IndentedFences(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        index = 0
        while index < len(lines):
            opening = OPENING.match(lines[index])
            closing = self._closing(lines, index, opening) if opening else None
            if closing is None:
                out.append(lines[index])
                index += 1
                continue
            indent = len(opening["indent"])
            body = [self._dedent(line, indent) for line in lines[index + 1 : closing]]
            if out and out[-1].strip():
                out.append("")
            out.extend(NESTED + line if line.strip() else "" for line in body)
            out.append("")
            index = closing + 1
        return out

    @staticmethod
    def _closing(lines: list[str], start: int, opening: re.Match) -> int | None:
        fence = opening["fence"]
        for index in range(start + 1, len(lines)):
            stripped = lines[index].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                return index
        return None

    @staticmethod
    def _dedent(line: str, indent: int) -> str:
        spaces = len(line) - len(line.lstrip(" "))
        return line[min(spaces, indent) :]


class IndentedFencesExtension(Extension):
    def extendMarkdown(self, md) -> None:
        # Before fenced_code (priority 25), which would otherwise leave these alone.
        md.preprocessors.register(IndentedFences(md), "indented_fences", 30)
