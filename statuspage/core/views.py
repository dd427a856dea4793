from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from statuspage.core.readiness import readiness_report


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no database, cache or broker."""
    return JsonResponse({"ok": True})


@never_cache
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: every part the product needs answers, and worker and scheduler run."""
    report = readiness_report()
    ok = all(part.ok for part in report.values())
    body = {
        "ok": ok,
        "checks": {name: {"ok": part.ok, "detail": part.detail} for name, part in report.items()},
    }
    if not ok:
        body["failing"] = [name for name, part in report.items() if not part.ok]
    return JsonResponse(body, status=200 if ok else 503)
