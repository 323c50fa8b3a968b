"""Wagtail admin users as the permission tests need them: members of Wagtail's default groups
("Editors", "Moderators"), given extra model permissions where a test says so.

Wagtail's migrations make those groups, but a transactional test's flush removes them: they are
made again here as the migrations make them (admin access; on the root page, Editors may add and
edit pages, Moderators may also publish and lock them).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from wagtail.models import GroupPagePermission

from cms.demo import site_root

PAGE_PERMISSIONS = {
    "Editors": ("add_page", "change_page"),
    "Moderators": ("add_page", "change_page", "publish_page", "lock_page"),
}


def _permission(label: str) -> Permission:
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def wagtail_group(name: str) -> Group:
    group, _ = Group.objects.get_or_create(name=name)
    group.permissions.add(_permission("wagtailadmin.access_admin"))
    root = site_root()
    for codename in PAGE_PERMISSIONS[name]:
        GroupPagePermission.objects.get_or_create(
            group=group, page=root, permission=_permission(f"wagtailcore.{codename}"))
    return group


def admin_user(username: str, *, groups=(), permissions=()):
    """A Wagtail user (not staff, not superuser) in ``groups`` with the extra model
    ``permissions`` ("app_label.codename"); admin access alone when in no group."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw")
    user.groups.add(*(wagtail_group(name) for name in groups))
    extra = [*permissions] if groups else ["wagtailadmin.access_admin", *permissions]
    user.user_permissions.add(*(_permission(label) for label in extra))
    return get_user_model().objects.get(pk=user.pk)  # a fresh permission cache


def refused(response) -> bool:
    """Wagtail's answer to a permission denied in the admin: 403, or (for a page request) a
    redirect to the dashboard with "Sorry, you do not have permission"."""
    if response.status_code == 403:
        return True
    return response.status_code == 302 and response["Location"].rstrip("/").endswith("/admin")
