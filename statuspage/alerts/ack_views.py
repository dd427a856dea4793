"""Acknowledging an outage: the link in a message, and the button on the team and
service pages.

The link opens a page with one button rather than acknowledging on GET: chat tools and
mail scanners fetch every link in a message to preview or vet it, and must not
acknowledge an outage nobody has seen. The signed token is what authorizes the button,
so it needs no login.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from statuspage.alerts import acks
from statuspage.alerts.ack_models import AckVia
from statuspage.catalog.models import Service


def _refused(request: HttpRequest, refused: acks.AckRefused) -> HttpResponse:
    context = {"title": "This link cannot acknowledge", "message": refused.message}
    return render(request, "alerts/ack_refused.html", context, status=refused.status)


@require_http_methods(["GET", "POST"])
def ack_link(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    try:
        target = acks.link_target(slug=slug, token=token)
    except acks.AckRefused as refused:
        return _refused(request, refused)
    context = {
        "title": f"Acknowledge the alert of {target.service.name}",
        "service": target.service,
        "event": target.event,
    }
    if request.method == "GET":
        context["current"] = acks.open_ack(target.service)
        return render(request, "alerts/ack_link.html", context)
    by = request.user if request.user.is_authenticated else None
    try:
        ack, made = acks.alert_ack(
            service=target.service, event=target.event, by=by, via=AckVia.LINK
        )
    except acks.AckRefused as refused:
        return _refused(request, refused)
    context.update({"ack": ack, "made": made})
    return render(request, "alerts/ack_done.html", context)


@login_required
@require_POST
def ack_service(request: HttpRequest, slug: str) -> HttpResponse:
    """The button on the team and service pages: acknowledge the service's outage."""
    service = get_object_or_404(Service.objects.select_related("team"), slug=slug)
    if not acks.can_ack(request.user, service):
        raise PermissionDenied("Only the service's team can acknowledge its alerts.")
    event = acks.latest_outage_event(service)
    if event is None:
        messages.info(request, f"{service.name} has no alert to acknowledge.")
    else:
        ack, made = acks.alert_ack(service=service, event=event, by=request.user, via=AckVia.PAGE)
        if made:
            messages.success(request, f"Acknowledged the alert of {service.name}.")
        else:
            messages.info(request, f"{service.name} was acknowledged already by {ack.by_label}.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("service", args=[service.slug])
    return redirect(back)
