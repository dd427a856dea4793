from typing import Any

import pytest

from checks.conditions import MISSING, ConditionSyntaxError, parse_condition

DOCUMENT: dict[str, Any] = {
    "ok": True,
    "db": {"status": "up", "latency_ms": 4.5},
    "queue": [1, 2, 3],
    "items": [{"id": 7, "tags": ["a", "b"]}, {"id": None}],
    "version": 2,
    "status": "degraded",
    "count": 1,
    "name": "checkout-api",
    "checks": {"disk-free": 40, "with space": "yes"},
    "empty": {},
}


@pytest.mark.parametrize(
    ("text", "passed", "actual"),
    [
        ("ok == true", True, True),
        ("ok != false", True, True),
        ('db.status == "up"', True, "up"),
        ('db.status != "up"', False, "up"),
        ("db.latency_ms < 10", True, 4.5),
        ("db.latency_ms >= 4.5", True, 4.5),
        ("len(queue) < 100", True, 3),
        ("len(queue) == 3", True, 3),
        ("len(name) > 5", True, 12),
        ("len(empty) == 0", True, 0),
        ("items[0].id != null", True, 7),
        ("items[1].id == null", True, None),
        ("items[-1].id == null", True, None),
        ('items[0].tags == ["a", "b"]', True, ["a", "b"]),
        ("version >= 2", True, 2),
        ("version > 2", False, 2),
        ("version == 2.0", True, 2),
        ('status in ["ok", "degraded"]', True, "degraded"),
        ('status in ["ok"]', False, "degraded"),
        ('"grad" in status', True, "degraded"),
        ('"disk-free" in checks', True, {"disk-free": 40, "with space": "yes"}),
        ('checks["disk-free"] > 10', True, 40),
        ('checks["with space"] == "yes"', True, "yes"),
        ("checks.disk-free > 10", True, 40),
        ('$.name == "checkout-api"', True, "checkout-api"),
        ('name >= "a"', True, "checkout-api"),
        ("100 > len(queue)", True, 3),
        ("count == true", False, 1),
        ("ok == 1", False, True),
        ('version == "2"', False, 2),
        ('version < "3"', False, 2),
        ("len(version) > 0", False, 2),
        ("db.status == db.status", True, "up"),
    ],
)
def test_condition_evaluates_against_the_document(text: str, passed: bool, actual: Any) -> None:
    assert parse_condition(text).evaluate(DOCUMENT) == (passed, actual)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ('db.status == "down"', 'condition failed: db.status == "down"'),
        ("len(queue) > 10", "condition failed: len(queue) > 10"),
        ("ok == false", "condition failed: ok == false"),
        (
            "len(version) > 0",
            "condition failed: len(version) > 0 (version has no length)",
        ),
        ("db.replica.lag < 5", "db.replica is missing"),
        ('db["replica"] == 1', "db.replica is missing"),
        ("items[5].id != null", "items[5] is missing"),
        ("len(jobs) < 10", "jobs is missing"),
        ("queue.size > 1", "queue.size is missing"),
        ("$[0] == 1", "$[0] is missing"),
    ],
)
def test_failed_condition_explains_itself(text: str, detail: str) -> None:
    assert parse_condition(text).check(DOCUMENT) == detail


def test_passing_condition_has_no_failure_detail() -> None:
    assert parse_condition("ok == true").check(DOCUMENT) is None


def test_missing_path_fails_with_a_missing_marker() -> None:
    assert parse_condition("nope == 1").evaluate(DOCUMENT) == (False, MISSING)


def test_condition_can_test_a_document_that_is_a_list() -> None:
    condition = parse_condition('$[0].name == "primary"')

    assert condition.evaluate([{"name": "primary"}]) == (True, "primary")


def test_whitespace_around_the_condition_is_ignored() -> None:
    condition = parse_condition("   ok==true  ")

    assert condition.text == "ok==true"
    assert condition.evaluate(DOCUMENT) == (True, True)


def test_string_literals_use_json_escapes() -> None:
    condition = parse_condition(r'greeting == "say \"hi\"\n"')

    assert condition.evaluate({"greeting": 'say "hi"\n'}) == (True, 'say "hi"\n')


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("", "condition is empty", 1),
        ("ok", "expected an operator (==, !=, <, <=, >, >=, in), found the end", 3),
        ("ok = true", "unexpected '=' (use '==' to compare)", 4),
        ("ok == ", "expected a value or a path, found the end of the condition", 7),
        ("== true", "expected a value or a path, found '=='", 1),
        ('db.status == "up', "unterminated string", 14),
        ("db.status == 'up'", "strings use double quotes", 14),
        ("db..status == 1", "expected a key name after '.', found '.'", 4),
        ("items[x] == 1", "expected a whole-number index or a quoted key, found 'x'", 7),
        ("items[1.5] == 1", "expected a whole-number index or a quoted key, found '1.5'", 7),
        ("items[0 == 1", "expected ']', found '=='", 9),
        ("len(queue < 1", "expected ')', found '<'", 11),
        ("ok == true and db == 1", "unexpected 'and' after the comparison", 12),
        ("status in [1, 2", "expected ',' or ']' in a list, found the end", 16),
        ("status in 3", "'in' needs a list or a string", 11),
        ("version < true", "'<' compares numbers or strings, not true", 11),
        ("version < [1]", "'<' compares numbers or strings, not [1]", 11),
        ("version # 2", "unexpected character '#'", 9),
        ('name == "bad \\q"', 'invalid escape in string "bad \\q"', 9),
        ("in == 1", "expected a value or a path, found 'in'", 1),
    ],
)
def test_syntax_error_names_the_problem_and_the_column(
    text: str, message: str, column: int
) -> None:
    with pytest.raises(ConditionSyntaxError) as raised:
        parse_condition(text)

    assert raised.value.message.startswith(message)
    assert raised.value.column == column
    assert str(raised.value).endswith(f"at column {column}")
    assert raised.value.text == text


def test_overlong_condition_is_rejected() -> None:
    with pytest.raises(ConditionSyntaxError, match="longer than 500 characters"):
        parse_condition("a" * 490 + " == 1234567890")


def test_syntax_error_is_a_value_error_for_form_validation() -> None:
    with pytest.raises(ValueError, match="column"):
        parse_condition("ok =")


def test_keywords_can_still_be_reached_as_quoted_keys() -> None:
    condition = parse_condition('$["null"] == 1')

    assert condition.evaluate({"null": 1}) == (True, 1)
    assert condition.left.text == '$["null"]'
