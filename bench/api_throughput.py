"""Throughput and p99 of Partwork's API against Wagtail's own API v2 on the same content.

Starts one gunicorn (the production settings, plus the stock API, which production does not route:
bench/wagtail_api_settings.py mounts it with bench/wagtail_api_urls.py) over a database holding
the demo series plus extra parts, then loads, one after the other in the same run:
  - GET /api/series/{slug}               vs  GET /wagtail-api/v2/pages/?child_of=<series>&...
  - GET /api/series/{slug}/parts/{n}     vs  GET /wagtail-api/v2/pages/<part id>/
and finally measures how long a publish takes to show in our API while it is under load.

    uv run python bench/api_throughput.py [--seconds 10] [--clients 4] [--parts 12]
"""

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._load import run_load  # noqa: E402

# Production settings redirect plain HTTP to HTTPS: the requests say what the TLS proxy in front
# of web says, so they are answered, not redirected.
BEHIND_TLS = {"X-Forwarded-Proto": "https"}


def _get(url: str):
    return urllib.request.urlopen(urllib.request.Request(url, headers=BEHIND_TLS), timeout=1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(env: dict, parts: int) -> dict:
    """Migrate, load the demo and add parts; return ids for the Wagtail v2 URLs."""
    script = f"""
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from cms.demo import load_demo
from cms.models import PartPage
series = load_demo()
for n in range(series.parts.count() + 1, {parts} + 1):
    part = series.add_child(instance=PartPage(title=f"Extra part {{n}}", live=False,
        body=[("paragraph", "<p>" + "Words of the part. " * 80 + "</p>")]))
    part.save_revision().publish()
live = PartPage.objects.live().filter(series=series).order_by("part_number")
print(json.dumps({{"series_id": series.id, "slug": series.slug,
                  "part_id": live[1].id, "part_number": live[1].part_number,
                  "live_parts": live.count()}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
    )
    if out.returncode:
        raise SystemExit(f"preparing the bench database failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def publish_and_watch(env: dict, port: int, slug: str, number: int) -> float:
    """Publish part ``number`` from another process; return seconds until the API serves it.

    The publishing process prints the moment it calls publish(); a poller started before it notes
    the first moment the API answered 200 for the new part.
    """
    script = f"""
import django, time
django.setup()
from cms.models import PartPage, SeriesPage
series = SeriesPage.objects.get(slug={slug!r})
part = series.add_child(instance=PartPage(title="Freshly published", live=False))
revision = part.save_revision()
print(time.time(), flush=True)  # publish() commits the page as live first, then runs signals
revision.publish()
"""
    url = f"http://127.0.0.1:{port}/api/series/{slug}/parts/{number}"
    seen = {}

    def poll():
        while "at" not in seen:
            try:
                _get(url)
                seen["at"] = time.time()
            except urllib.error.HTTPError:
                time.sleep(0.005)

    poller = threading.Thread(target=poll)
    poller.start()
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
        check=True,
    )
    publish_called_at = float(out.stdout.strip().splitlines()[-1])
    poller.join(timeout=30)
    return seen["at"] - publish_called_at


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--parts", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="partwork-bench-")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.wagtail_api_settings",
        "SECRET_KEY": secrets.token_urlsafe(50),  # production refuses weak keys
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "DATA_DIR": data_dir,
        "LOG_LEVEL": "WARNING",
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{data_dir}/bench.sqlite3")
    if not os.environ.get("REDIS_URL"):
        from config.embedded_redis import embedded_redis_url

        env["REDIS_URL"] = embedded_redis_url(Path(data_dir))
    if env["DATABASE_URL"].startswith("postgres"):
        db = env["DATABASE_URL"].rsplit("/", 1)
        env["DATABASE_URL"] = f"{db[0]}/partwork_bench"
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists",
                        "partwork_bench"], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", "partwork_bench"],
                       check=True)
    ids = prepare(env, args.parts)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}",
         "-w", str(args.workers), "-k", "gthread", "--threads", "4", "--log-level", "warning"],
        env=env, cwd=ROOT,
    )
    try:
        for _ in range(100):
            try:
                _get(f"http://127.0.0.1:{port}/api/series")
                break
            except OSError:
                time.sleep(0.1)
        fields = "fields=part_number,first_published_at"
        pairs = [
            ("series with its parts",
             f"/api/series/{ids['slug']}",
             f"/wagtail-api/v2/pages/?child_of={ids['series_id']}&type=cms.PartPage&{fields}"
             f"&order=part_number&limit=20"),
            ("one part",
             f"/api/series/{ids['slug']}/parts/{ids['part_number']}",
             f"/wagtail-api/v2/pages/{ids['part_id']}/"),
        ]
        rows = []
        for label, ours, theirs in pairs:
            for who, path in (("Partwork API", ours), ("Wagtail API v2", theirs)):
                run_load("127.0.0.1", port, path, seconds=1, clients=args.clients,
                         headers=BEHIND_TLS)  # warm up
                result = run_load("127.0.0.1", port, path, seconds=args.seconds,
                                  clients=args.clients, headers=BEHIND_TLS)
                if result["errors"] > result["requests"] / 100:
                    raise SystemExit(f"{who} {path}: {result['errors']} of {result['requests']} "
                                     "requests failed; the figures would mean nothing")
                rows.append((label, who, result))

        # A publish under load: how long until our API shows the new part?
        visible_after = publish_and_watch(env, port, ids["slug"], ids["live_parts"] + 2)
    finally:
        server.terminate()
        server.wait(timeout=30)

    database = "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"
    print(f"\nAPI throughput — gunicorn {args.workers} workers x 4 threads, {args.clients} "
          f"clients, {args.seconds:.0f} s each, {database}, {ids['live_parts']} live parts\n")
    print(f"{'request':<24}{'server':<18}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for label, who, r in rows:
        print(f"{label:<24}{who:<18}{r['rps']:>9.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
              f"{r['errors']:>8}")
    for label in dict.fromkeys(label for label, _, _ in rows):
        ours, theirs = (r for lab, _, r in rows if lab == label)
        print(f"{label}: Partwork/Wagtail v2 throughput = {ours['rps'] / theirs['rps']:.1f}x")
    print(f"publish visible in the API {visible_after * 1000:.0f} ms after publish() was called")


if __name__ == "__main__":
    main()
