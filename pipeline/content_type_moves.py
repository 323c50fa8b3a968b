"""The one migration step the area apps' 0001 migrations share: moving the content types of the
models they adopt from the ``pipeline`` app, so permissions, admin log entries and anything else
pointing at a content type follow the model (``pipeline.send_campaign`` → ``campaigns.…``).

Kept importable and unchanged for as long as those migrations exist.
"""

from django.db import migrations


def _move(apps, *, models: list[str], source: str, target: str) -> None:
    content_types = apps.get_model("contenttypes", "ContentType")
    taken = set(
        content_types.objects.filter(app_label=target, model__in=models)
        .values_list("model", flat=True)
    )
    content_types.objects.filter(app_label=source, model__in=set(models) - taken).update(
        app_label=target
    )


def move_content_types(*, models: list[str], to_app: str) -> migrations.RunPython:
    """A reversible RunPython that gives ``models``' content types from ``pipeline`` to ``to_app``
    (one already made under ``to_app`` wins; the old one is then left alone)."""
    return migrations.RunPython(
        lambda apps, _: _move(apps, models=models, source="pipeline", target=to_app),
        lambda apps, _: _move(apps, models=models, source=to_app, target="pipeline"),
    )
