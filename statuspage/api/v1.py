"""The JSON API, version 1 (tokens, deployments), with its OpenAPI schema and docs."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Status dashboard API",
    version="1",
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
