"""RSS and Atom feeds of a series' live, public parts (no view-restricted ones)."""

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.utils.feedgenerator import Atom1Feed

from cms import selectors
from cms.links import public_url


class SeriesRssFeed(Feed):
    def get_object(self, request, slug):
        series = selectors.series_by_slug(slug)
        if series is None:
            raise Http404("No published series with that slug.")
        return series

    def title(self, series):
        return series.title

    def link(self, series):
        return public_url(series)

    def description(self, series):
        return series.summary or f"New parts of {series.title}"

    def items(self, series):
        return series.public_parts().select_related("series").order_by("-part_number")[:50]

    def item_title(self, part):
        return f"Part {part.part_number}: {part.title}"

    def item_description(self, part):
        return part.standfirst

    def item_link(self, part):
        return public_url(part)

    def item_guid(self, part):
        return f"partwork-part-{part.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, part):
        return part.first_published_at

    def item_updateddate(self, part):
        return part.last_published_at


class SeriesAtomFeed(SeriesRssFeed):
    feed_type = Atom1Feed

    def subtitle(self, series):
        return self.description(series)
