# syntax=docker/dockerfile:1
# One image for web, worker, mail worker and beat. No secrets are baked in: every setting comes
# from the environment at run time (see .env.example).

FROM python:3.11-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
# Static files land in DATA_DIR/static (/app/var/static), where production settings serve them.
RUN DJANGO_SETTINGS_MODULE=config.settings.dev REDIS_URL=redis://unused:6379/0 \
    DATA_DIR=/app/var /app/.venv/bin/python manage.py collectstatic --noinput

FROM python:3.11-slim-bookworm AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system partwork && useradd --system --gid partwork --home /app partwork
WORKDIR /app
COPY --from=build --chown=partwork:partwork /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    DATA_DIR=/app/var
RUN mkdir -p /app/var/media && chown -R partwork:partwork /app/var
USER partwork
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--config", "python:config.gunicorn", \
     "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "4", \
     "--access-logfile", "-"]
