"""A small condition language over JSON documents, for HTTP checks of health endpoints.

One condition is one comparison, parsed without eval:

    ok == true                    db.status == "up"         len(queue) < 100
    items[0].id != null           version >= 2              status in ["ok", "degraded"]
    $[0].name == "primary"        checks["disk-free"] > 10

Operands are paths into the document (dots, [index], ["key"], `$` for the whole document),
`len(path)`, or literals: true, false, null, numbers, double-quoted strings and lists of
literals. Operators: == != < <= > >= in. Equality is JSON equality (true is not 1);
ordering compares two numbers or two strings; `in` tests membership in a list, a substring
of a string or a key of an object. A path that is not in the document fails the condition.
"""

import json
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Self

MAX_LENGTH: Final = 500
OPERATORS: Final = ("==", "!=", "<", "<=", ">", ">=", "in")
_ORDERING: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_KEYWORDS: Final = {"true": True, "false": False, "null": None}
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    | (?P<op>==|!=|<=|>=|<|>)
    | (?P<punct>[\[\](),.$])
    | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    """,
    re.VERBOSE,
)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


@dataclass(frozen=True, slots=True)
class NoLength:
    """What len() of a number, boolean or null gives: fails every comparison."""

    value: Any


class ConditionSyntaxError(ValueError):
    def __init__(self, message: str, *, text: str, column: int) -> None:
        super().__init__(f"{message} at column {column}")
        self.message = message
        self.text = text
        self.column = column


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # string, number, op, punct, ident, end
    text: str
    column: int

    def describe(self) -> str:
        return "the end of the condition" if self.kind == "end" else repr(self.text)


@dataclass(frozen=True, slots=True)
class Path:
    steps: tuple[str | int, ...]

    @property
    def text(self) -> str:
        first = self.steps[0] if self.steps else None
        out = "" if isinstance(first, str) and _is_name(first) else "$"
        for step in self.steps:
            if isinstance(step, int):
                out += f"[{step}]"
            elif _is_name(step):
                out += f".{step}" if out else step
            else:
                out += f"[{json.dumps(step)}]"
        return out

    def value(self, document: Any) -> Any:
        return self._walk(document)[1]

    def first_missing(self, document: Any) -> Self:
        """The shortest leading part of this path that is not in the document."""
        return type(self)(self.steps[: self._walk(document)[0] + 1])

    def _walk(self, document: Any) -> tuple[int, Any]:
        """(steps taken, value found or MISSING)."""
        current = document
        for taken, step in enumerate(self.steps):
            if isinstance(step, int):
                if not isinstance(current, list) or not -len(current) <= step < len(current):
                    return taken, MISSING
            elif not isinstance(current, dict) or step not in current:
                return taken, MISSING
            current = current[step]
        return len(self.steps), current


@dataclass(frozen=True, slots=True)
class Length:
    path: Path

    @property
    def text(self) -> str:
        return f"len({self.path.text})"

    def value(self, document: Any) -> Any:
        found = self.path.value(document)
        if found is MISSING:
            return MISSING
        if isinstance(found, str | list | dict):
            return len(found)
        return NoLength(found)


@dataclass(frozen=True, slots=True)
class Literal:
    constant: Any

    @property
    def text(self) -> str:
        return format_value(self.constant)

    def value(self, document: Any) -> Any:
        return self.constant


type Operand = Path | Length | Literal


@dataclass(frozen=True, slots=True)
class Condition:
    text: str
    left: Operand
    operator: str
    right: Operand

    def evaluate(self, document: Any) -> tuple[bool, Any]:
        """(passed, actual value): the value of the first operand read from the document."""
        passed, actual, _ = self._run(document)
        return passed, actual

    def check(self, document: Any) -> str | None:
        """None when the condition holds, otherwise a short reason for the result detail."""
        return self._run(document)[2]

    def _run(self, document: Any) -> tuple[bool, Any, str | None]:
        left, right = self.left.value(document), self.right.value(document)
        actual = right if isinstance(self.left, Literal) else left
        for operand, value in ((self.left, left), (self.right, right)):
            if value is MISSING:
                path = operand.path if isinstance(operand, Length) else operand
                assert isinstance(path, Path)
                return False, MISSING, f"{path.first_missing(document).text} is missing"
        # Reasons name what failed, never the value: the body is the peer's, and the reason
        # is stored and shown to everyone who can see the check.
        for operand, value in ((self.left, left), (self.right, right)):
            if isinstance(operand, Length) and isinstance(value, NoLength):
                shown = f"{operand.path.text} has no length"
                return False, value.value, f"condition failed: {self.text} ({shown})"
        if _compare(self.operator, left, right):
            return True, actual, None
        return False, actual, f"condition failed: {self.text}"


def format_value(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@lru_cache(maxsize=2048)
def parse_condition(text: str) -> Condition:
    """Parse one condition; ConditionSyntaxError (a ValueError) names the column at fault."""
    if len(text) > MAX_LENGTH:
        raise ConditionSyntaxError(
            f"condition is longer than {MAX_LENGTH} characters", text=text, column=MAX_LENGTH + 1
        )
    parser = _Parser(text, _tokenize(text))
    if parser.peek().kind == "end":
        raise ConditionSyntaxError("condition is empty", text=text, column=1)
    left = parser.operand()
    op = parser.operator()
    right_column = parser.peek().column
    right = parser.operand()
    parser.expect_end()
    _check_operands(text, op, right, right_column)
    return Condition(text=text.strip(), left=left, operator=op, right=right)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            tokens.append(_Token("bad", text[position], position + 1))
            break
        kind = match.lastgroup or "space"
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str, tokens: Sequence[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind == "bad":
            raise self.error(_bad_character_message(self.text, token), token)
        if token.kind != "end":
            self.index += 1
        return token

    def error(self, message: str, token: _Token) -> ConditionSyntaxError:
        return ConditionSyntaxError(message, text=self.text, column=token.column)

    def expect(self, text: str) -> _Token:
        token = self.take()
        if token.kind != "punct" or token.text != text:
            raise self.error(f"expected '{text}', found {token.describe()}", token)
        return token

    def operand(self) -> Operand:
        token = self.peek()
        if token.kind == "ident" and token.text == "len":
            after = self.tokens[self.index + 1]
            if after.text == "(" and after.kind == "punct":
                self.take()
                self.take()
                path = self.path()
                self.expect(")")
                return Length(path)
        if token.kind == "ident" and token.text not in _KEYWORDS and token.text != "in":
            return self.path()
        if token.kind == "punct" and token.text == "$":
            return self.path()
        return Literal(self.literal())

    def path(self) -> Path:
        token = self.take()
        steps: list[str | int] = []
        if token.kind == "ident":
            steps.append(token.text)
        elif token.text != "$":
            raise self.error(f"expected a path, found {token.describe()}", token)
        while self.peek().kind == "punct" and self.peek().text in (".", "["):
            if self.take().text == ".":
                name = self.take()
                if name.kind != "ident":
                    found = name.describe()
                    raise self.error(f"expected a key name after '.', found {found}", name)
                steps.append(name.text)
            else:
                steps.append(self.index_step())
        return Path(tuple(steps))

    def index_step(self) -> str | int:
        token = self.take()
        if token.kind == "string":
            key = _decode_string(self, token)
        elif token.kind == "number" and re.fullmatch(r"-?[0-9]+", token.text):
            key = int(token.text)
        else:
            message = f"expected a whole-number index or a quoted key, found {token.describe()}"
            raise self.error(message, token)
        self.expect("]")
        return key

    def literal(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return _decode_string(self, token)
        if token.kind == "number":
            return float(token.text) if re.search(r"[.eE]", token.text) else int(token.text)
        if token.kind == "ident" and token.text in _KEYWORDS:
            return _KEYWORDS[token.text]
        if token.kind == "punct" and token.text == "[":
            return self.list_items()
        raise self.error(f"expected a value or a path, found {token.describe()}", token)

    def list_items(self) -> tuple[Any, ...]:
        items: list[Any] = []
        if self.peek().text == "]" and self.peek().kind == "punct":
            self.take()
            return ()
        while True:
            items.append(self.literal())
            token = self.take()
            if token.kind == "punct" and token.text == "]":
                return tuple(items)
            if not (token.kind == "punct" and token.text == ","):
                raise self.error(f"expected ',' or ']' in a list, found {token.describe()}", token)

    def operator(self) -> str:
        token = self.take()
        if token.kind == "op" or (token.kind == "ident" and token.text == "in"):
            return token.text
        names = ", ".join(OPERATORS)
        raise self.error(f"expected an operator ({names}), found {token.describe()}", token)

    def expect_end(self) -> None:
        token = self.take()
        if token.kind != "end":
            message = (
                f"unexpected {token.describe()} after the comparison "
                "(one comparison per condition; add another condition instead)"
            )
            raise self.error(message, token)


def _decode_string(parser: _Parser, token: _Token) -> str:
    try:
        return str(json.loads(token.text))
    except json.JSONDecodeError:
        raise parser.error(f"invalid escape in string {token.text}", token) from None


def _bad_character_message(text: str, token: _Token) -> str:
    if token.text == '"':
        return "unterminated string"
    if token.text == "=":
        return "unexpected '=' (use '==' to compare)"
    if token.text == "'":
        return "strings use double quotes"
    return f"unexpected character {token.text!r}"


def _check_operands(text: str, op: str, right: Operand, column: int) -> None:
    if not isinstance(right, Literal):
        return
    value = right.constant
    if op == "in" and not isinstance(value, str | tuple):
        raise ConditionSyntaxError("'in' needs a list or a string", text=text, column=column)
    if op in _ORDERING and not (_is_number(value) or isinstance(value, str)):
        message = f"'{op}' compares numbers or strings, not {right.text}"
        raise ConditionSyntaxError(message, text=text, column=column)


def _is_name(key: str) -> bool:
    return _NAME.fullmatch(key) is not None and key not in _KEYWORDS and key not in ("in", "len")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[key], b[key]) for key in a)
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op == "in":
        if isinstance(right, list | tuple):
            return any(_equal(left, item) for item in right)
        if isinstance(right, str | dict):
            return isinstance(left, str) and left in right
        return False
    both_numbers = _is_number(left) and _is_number(right)
    both_strings = isinstance(left, str) and isinstance(right, str)
    return (both_numbers or both_strings) and _ORDERING[op](left, right)
