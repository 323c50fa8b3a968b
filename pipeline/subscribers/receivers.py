"""The subscribers app's own bookkeeping: a change of the series a subscriber follows, however it
is made (a service, the admin, a test, ``series.add``), stamps ``updated_at``, which the
incremental audience sync reads to find who changed."""

from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils import timezone

from pipeline.subscribers.models import Subscriber


@receiver(m2m_changed, sender=Subscriber.series.through,
          dispatch_uid="partwork-subscriber-series-changed")
def _series_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    now = timezone.now()
    if reverse:  # series.list_subscribers.add(...): instance is the series
        if pk_set:
            Subscriber.objects.filter(pk__in=pk_set).update(updated_at=now)
        return
    Subscriber.objects.filter(pk=instance.pk).update(updated_at=now)
