from django import forms
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe
from wagtail import hooks
from wagtail.admin.forms.choosers import BaseFilterForm
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.chooser import ChooseResultsView, ChooseView, SnippetChooserViewSet
from wagtail.snippets.views.snippets import SnippetViewSet

from cms.models import Offer, PartPage
from cms.previews import front_end_preview_url, preview_token_make


class OfferChooserFilterForm(BaseFilterForm):
    """The chooser searches offer names only: searching codes would let any admin user confirm a
    guessed code of an offer that has not started."""

    q = forms.CharField(label="Search offer names", required=False,
                        widget=forms.TextInput(attrs={"placeholder": "Search offer names"}))

    def filter(self, objects):
        objects = super().filter(objects)
        query = (self.cleaned_data.get("q") or "").strip()
        if query:
            objects = objects.filter(name__icontains=query)
            self.is_searching = True
            self.search_query = query
        return objects


class OfferChooseView(ChooseView):
    filter_form_class = OfferChooserFilterForm


class OfferChooseResultsView(ChooseResultsView):
    filter_form_class = OfferChooserFilterForm


class OfferChooserViewSet(SnippetChooserViewSet):
    choose_view_class = OfferChooseView
    choose_results_view_class = OfferChooseResultsView


class OfferViewSet(SnippetViewSet):
    model = Offer
    icon = "tag"
    menu_label = "Offers"
    menu_order = 200
    add_to_admin_menu = True
    list_display = ["name", "code", "percent_off", "starts_at", "ends_at", "live"]
    list_filter = ["live"]
    search_fields = ["name", "code"]  # the listing, which needs an offer permission
    chooser_viewset_class = OfferChooserViewSet


register_snippet(OfferViewSet)


@require_safe
@xframe_options_sameorigin  # Wagtail's preview panel opens it in its iframe
def front_end_preview(request, page_id: int):
    """Mint a draft preview token for a part the user may edit and open the front end with it."""
    page = PartPage.objects.filter(pk=page_id).first()
    if page is None:
        raise Http404("No such part.")
    token = preview_token_make(user=request.user, page=page)  # PermissionDenied: 403
    response = redirect(front_end_preview_url(token))
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@hooks.register("register_admin_urls")
def front_end_preview_urls():
    return [
        path("front-end-preview/<int:page_id>/", front_end_preview, name="cms_front_end_preview"),
    ]
