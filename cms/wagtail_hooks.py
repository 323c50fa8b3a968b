from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from cms.models import Offer


class OfferViewSet(SnippetViewSet):
    model = Offer
    icon = "tag"
    menu_label = "Offers"
    menu_order = 200
    add_to_admin_menu = True
    list_display = ["name", "code", "percent_off", "starts_at", "ends_at", "live"]
    list_filter = ["live"]
    search_fields = ["name", "code"]


register_snippet(OfferViewSet)
