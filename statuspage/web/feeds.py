"""Atom and RSS feeds of published incidents and maintenance, under /status/.

Items come from ``statuspage.web.public`` (published only, public fields only); each
item's description holds its updates, newest first, as sanitized HTML. Links are absolute
on the configured page URL, so one cached feed is right whoever asks for it.
"""

from urllib.parse import urljoin

from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import feedgenerator, timezone
from django.views.decorators.http import require_safe

from statuspage.web import public
from statuspage.web.public_cache import serve

ITEMS = 50

Item = public.PublicIncident | public.PublicMaintenance


def absolute(path: str) -> str:
    return urljoin(public.page_url(), path)


class IncidentFeed(Feed):
    feed_type = feedgenerator.Rss201rev2Feed
    route = "public-feed-rss"

    def title(self) -> str:
        return f"{public.page_info(timezone.now()).name}: incidents and maintenance"

    def link(self) -> str:
        return absolute(reverse("public-status"))

    def feed_url(self) -> str:
        return absolute(reverse(self.route))

    def description(self) -> str:
        return "Incidents and scheduled maintenance, with every update."

    def items(self) -> list[Item]:
        found: list[Item] = [*public.public_incidents(limit=ITEMS)]
        found += public.public_maintenances(limit=ITEMS)
        return sorted(found, key=lambda item: item.updated_at, reverse=True)[:ITEMS]

    def item_title(self, item: Item) -> str:
        if isinstance(item, public.PublicMaintenance):
            return f"Maintenance: {item.name}"
        return item.name

    def item_description(self, item: Item) -> str:
        with timezone.override(public.page_zone()):
            return render_to_string("public/_feed_item.html", {"item": item})

    def item_link(self, item: Item) -> str:
        if isinstance(item, public.PublicMaintenance):
            return absolute(reverse("public-maintenance", args=[item.id]))
        return absolute(reverse("public-incident", args=[item.id]))

    def item_guid_is_permalink(self, item: Item) -> bool:
        return True

    def item_pubdate(self, item: Item):
        return item.created_at

    def item_updateddate(self, item: Item):
        return item.updated_at

    def item_categories(self, item: Item) -> list[str]:
        if isinstance(item, public.PublicMaintenance):
            return ["maintenance", item.status]
        return ["incident", item.impact, item.status]


class AtomIncidentFeed(IncidentFeed):
    feed_type = feedgenerator.Atom1Feed
    route = "public-feed-atom"

    def subtitle(self) -> str:
        return self.description()


def _feed(request: HttpRequest, feed: IncidentFeed, name: str) -> HttpResponse:
    return serve(
        request,
        name,
        lambda: feed(request).content,
        content_type=feed.feed_type.content_type,
    )


@require_safe
def rss_feed(request: HttpRequest) -> HttpResponse:
    return _feed(request, IncidentFeed(), "feed:rss")


@require_safe
def atom_feed(request: HttpRequest) -> HttpResponse:
    return _feed(request, AtomIncidentFeed(), "feed:atom")
