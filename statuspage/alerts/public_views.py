"""The public subscription pages under /status/subscribe/ (no login).

The form answers with the same page whether the address is new, waiting for
confirmation or already subscribed, and whether or not a mail was really sent (an
address has a cap of its own), so nobody learns from it who is subscribed. Posting is
limited per client address (seen through trusted proxies only).
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from statuspage.alerts.forms import SubscribeForm
from statuspage.alerts.subscriptions import (
    Choice,
    LinkInvalid,
    public_service_choices,
    subscription_cancel,
    subscription_confirm,
    subscription_request,
)
from statuspage.core.client import client_address
from statuspage.core.counters import rate_exceeded

# Subscription requests one client may post per window.
SUBSCRIBE_LIMIT = 5
SUBSCRIBE_WINDOW_S = 600


def _page() -> dict:
    status_page = settings.STATUS_PAGE
    return {
        "page": {
            "name": status_page.get("name", "Status"),
            "logo_url": status_page.get("logo_url", ""),
            "support_url": status_page.get("support_url", ""),
        },
        "time_zone": status_page.get("time_zone") or "Etc/UTC",
    }


def _render(request: HttpRequest, template: str, status: int = 200, **context) -> HttpResponse:
    return render(request, f"alerts/public/{template}", {**_page(), **context}, status=status)


# Never from a shared cache: the form carries a CSRF token, the other pages are answers
# to one visitor's link.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    services = public_service_choices()
    if request.method != "POST":
        return _render(request, "subscribe.html", form=SubscribeForm(services=services))
    client = client_address(request) or "-"
    wait_s = rate_exceeded(
        key=f"subscribe:{client}", limit=SUBSCRIBE_LIMIT, window_s=SUBSCRIBE_WINDOW_S
    )
    form = SubscribeForm(request.POST, services=services)
    if wait_s is not None:
        minutes = max(1, round(wait_s / 60))
        form.add_error(None, f"Too many requests from your address. Try again in {minutes} min.")
        return _render(request, "subscribe.html", status=429, form=form)
    if not form.is_valid():
        return _render(request, "subscribe.html", status=400, form=form)
    every = form.cleaned_data["scope"] == "all"
    chosen = () if every else tuple(sorted(s.pk for s in form.cleaned_data["services"]))
    subscription_request(
        email=form.cleaned_data["email"],
        choice=Choice(all_components=every, service_ids=chosen),
        base_url=request.build_absolute_uri("/"),
        now=timezone.now(),
    )
    return redirect("subscribe-sent")


@never_cache
@require_http_methods(["GET", "HEAD"])
def subscribe_sent(request: HttpRequest) -> HttpResponse:
    return _render(request, "sent.html")


@never_cache
@require_http_methods(["GET", "HEAD"])
def subscribe_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber = subscription_confirm(token=token, now=timezone.now())
    except LinkInvalid as exc:
        return _render(request, "link_invalid.html", status=400, reason=str(exc))
    components = [s.display_public_name for s in subscriber.services.order_by("name")]
    return _render(
        request,
        "confirmed.html",
        all_components=subscriber.all_components,
        components=components,
    )


# A mail client's one-click unsubscribe (RFC 8058) posts without a CSRF token: the signed
# token in the address is what authorises it, and it can do nothing but unsubscribe.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def subscribe_cancel(request: HttpRequest, token: str) -> HttpResponse:
    try:
        # A HEAD (a link checker looking) changes nothing.
        if request.method != "HEAD":
            subscription_cancel(token=token)
    except LinkInvalid as exc:
        return _render(request, "link_invalid.html", status=400, reason=str(exc))
    return _render(request, "cancelled.html")
