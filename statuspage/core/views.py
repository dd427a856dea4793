import hmac

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from statuspage.core.readiness import readiness_report


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no database, cache or broker."""
    return JsonResponse({"ok": True})


def _may_see_detail(request: HttpRequest) -> bool:
    """Staff, or a caller with ``READY_TOKEN`` (which needs no database to check)."""
    token = settings.READY_TOKEN
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if token and sent and hmac.compare_digest(sent.encode(), token.encode()):
        return True
    try:
        return bool(getattr(request.user, "is_staff", False))
    except DatabaseError:
        return False


@never_cache
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: every part the product needs answers, and worker and scheduler run.

    Anyone sees which parts fail; only staff or a holder of ``READY_TOKEN`` see the
    details (backend names, error classes, heartbeat ages).
    """
    report = readiness_report()
    ok = all(part.ok for part in report.values())
    body: dict = {"ok": ok}
    if not ok:
        body["failing"] = [name for name, part in report.items() if not part.ok]
    if _may_see_detail(request):
        body["checks"] = {
            name: {"ok": part.ok, "detail": part.detail} for name, part in report.items()
        }
    return JsonResponse(body, status=200 if ok else 503)
