"""Draft previews for front ends: a signed, short-lived token per part.

An editor who may edit a part mints a token (``preview_token_make``, from the admin's
"Front end" preview mode or ``/admin/front-end-preview/<page id>/``); the front end configured
in ``FRONTEND_PREVIEW_URL`` gets it in place of ``{token}`` and reads
``GET /api/preview/{token}``, which answers the part's latest revision (the draft) in the schema
of a live part. The token is Django's ``TimestampSigner`` over the page id with its own salt:
it stops working after ``PREVIEW_TOKEN_MAX_AGE``, any change to it breaks the signature, and it
names exactly one page, so it never opens another one.

We chose this over wagtail-headless-preview 0.9 (the latest): it declares Wagtail 7 only (we run
Wagtail 8), serves drafts through Wagtail's API v2, which Partwork does not route, and keys them by
a random token stored in the database rather than a signed, expiring one.
"""

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied

from cms.models import PartPage

SALT = "partwork.cms.draft-preview"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def preview_token_make(*, user, page) -> str:
    """A token for this part's draft, for a user who may edit it (PermissionDenied otherwise)."""
    page = page.specific
    if not isinstance(page, PartPage) or page.pk is None:
        raise PartPage.DoesNotExist("Only a saved part has a front-end preview.")
    if not page.permissions_for_user(user).can_edit():
        raise PermissionDenied("You may not edit this part, so you may not preview it.")
    return _signer().sign_object({"page": page.pk})


def preview_draft(token: str) -> PartPage | None:
    """The part's latest revision (as a page) for a valid token, else None."""
    try:
        claims = _signer().unsign_object(
            token, max_age=settings.PREVIEW_TOKEN_MAX_AGE.total_seconds()
        )
        page_id = int(claims["page"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    page = PartPage.objects.filter(pk=page_id).first()
    if page is None:
        return None
    draft = page.get_latest_revision_as_object()
    return draft if draft.series_id else None


def front_end_preview_url(token: str) -> str:
    """Where the editor's browser goes: the front end's preview page, or our JSON when no front
    end is configured."""
    if settings.FRONTEND_PREVIEW_URL:
        return settings.FRONTEND_PREVIEW_URL.replace("{token}", token)
    return f"{settings.BASE_URL}/api/preview/{token}"
