"""The OpenAPI schema documents every status the API answers with and the shape of slugs,
so generated clients and schema-driven tests know them."""

import pytest

from statuspage.api.schemas import SLUG


@pytest.fixture
def schema(client, db) -> dict:
    return client.get("/api/v1/openapi.json").json()


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_documents_400_and_503(schema):
    for path, method, operation in operations(schema):
        for status in ("400", "401", "503"):
            assert status in operation["responses"], (method, path, status)


def test_every_slug_parameter_carries_the_slug_pattern(schema):
    slugs = [
        (path, parameter)
        for path, _, operation in operations(schema)
        for parameter in operation.get("parameters", [])
        if parameter["name"] in {"slug", "service"}
    ]
    assert {path for path, _ in slugs} == {
        "/api/v1/deployments",
        "/api/v1/services/{slug}/checks",
        "/api/v1/services/{slug}/checks/{name}",
    }
    for path, parameter in slugs:
        text = str(parameter["schema"])
        assert SLUG.pattern in text, (path, parameter)
