"""The /alerts/ page of the team site: channels, their recent notifications, test messages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from statuspage.alerts.channel_test import channel_test_send
from statuspage.alerts.screens import alerts_page, visible_channels


def _channel_id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@require_GET
@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    channel_id = _channel_id(request.GET.get("channel"))
    page = alerts_page(user=request.user, channel_id=channel_id, page=request.GET.get("page"))
    context = {"alerts": page, "zone": timezone.get_current_timezone_name()}
    return render(request, "alerts/pages/alerts.html", context)


@require_POST
@login_required
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    channel = visible_channels(request.user).filter(pk=pk).first()
    if channel is None:
        raise Http404("No such channel.")
    channel_test_send(channel=channel, by=request.user, now=timezone.now())
    messages.success(request, f"Test message queued for {channel.name}.")
    return redirect(f"{reverse('alerts')}?channel={channel.pk}")
