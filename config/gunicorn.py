"""Gunicorn's settings for the image's web server: ``gunicorn --config python:config.gunicorn``.

The command line (Dockerfile, docker-compose.yml) keeps bind, workers and the access log; this file
adds what a command line cannot: the access and error logs pass through the same redaction as
Django's logs (config/redaction.py), so webhook secrets and subscriber tokens in request paths,
and in a Referer pointing at them, are never written.
"""

from gunicorn.glogging import Logger

from config.redaction import RedactSecrets


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactSecrets) for f in log.filters):
                log.addFilter(RedactSecrets())


logger_class = RedactingLogger
