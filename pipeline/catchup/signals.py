"""Signals the catch-up app sends; the workers queue tasks for them on commit."""

from django.dispatch import Signal

welcome_due = Signal()  # kwargs: delivery_id
