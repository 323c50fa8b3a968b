import pipeline.subscriber_admin  # noqa: F401  (mailing list admin screens)
