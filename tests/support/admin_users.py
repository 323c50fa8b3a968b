"""Wagtail admin users as the permission tests need them: a member of one of Wagtail's default
groups ("Editors", "Moderators", made by Wagtail's migrations with their page permissions), given
extra model permissions where a test says so."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission


def admin_user(username: str, *, groups=(), permissions=()):
    """A staff-less Wagtail user in ``groups`` with the extra ``permissions`` ("app.codename")."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw")
    user.groups.add(*Group.objects.filter(name__in=groups))
    if "Editors" not in groups and "Moderators" not in groups:
        permissions = ("wagtailadmin.access_admin", *permissions)
    for label in permissions:
        app_label, codename = label.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return get_user_model().objects.get(pk=user.pk)  # a fresh permission cache
