"""Local campaign delivery vs a plain loop of Django send_mail, to an SMTP sink on loopback.

    uv run python bench/local_delivery.py [--recipients 10000] [--windows 4,16,8] [--quick]
                              [--sink smtp-sink|aiosmtpd|aiosmtpd-pipelining]

In one run, each delivers the same personalised email (HTML + text, a per-recipient
unsubscribe link) to the same recipients through an SMTP sink in its own process on 127.0.0.1:
  ours   campaign_send, once per ledger window in --windows (at most that many messages in
         flight, so the most a SIGKILL can leave uncertain): each message committed sending
         before and its outcome after, half a window per commit; the email made once and
         joined per reader; CAMPAIGN_SMTP_CONNECTIONS sessions in parallel; List-Unsubscribe
         headers and a Message-ID each;
  ceiling the same recipients' messages, byte for byte as ours makes them (made before the
         clock starts), sent with no database over as many SMTP sessions to the same sink,
         each session renewed as often as ours, PIPELINING used as ours uses it (MAIL, RCPT
         and DATA in one write when the server offers it): what the sink and the wire allow
         one worker, so ours' share of it is what the ledger and the per-message Python cost;
  stock  for each recipient, django.core.mail.send_mail(..., html_message=...) (a new SMTP
         connection per message, no ledger).
Beside them, with the default (last) window, in the same run:
  +DKIM  every message signed (a 2048-bit RSA key made for the run; DKIM_PRIVATE_KEY_FILE),
         and the signer alone timed on one prepared message (CPU µs per message);
  +pacing CAMPAIGN_SMTP_RATE set --pace-factor times above the unpaced speed and a daily cap
         ten times the list (the Redis token bucket and day counter asked for every batch,
         never reached): what pacing costs when the cap is not reached.
The sink is Postfix's smtp-sink (C; Debian package postfix; offers PIPELINING) when it is
installed, else aiosmtpd's Sink (Python: alone on a 2-core machine it takes about 1,250 of these
9 KB messages a second over 4 sessions, and here it shares the cores with the worker and
PostgreSQL; it does not offer PIPELINING), or with --sink aiosmtpd-pipelining the same Sink
offering PIPELINING (tests/support/smtp_sink.py: aiosmtpd reads pipelined commands as they
come). Each method runs twice: once timed, once under tracemalloc for its peak Python memory
(tracemalloc slows the code it watches, so that run is not timed). It creates a throwaway test
database (test_<name> of DATABASE_URL, or SQLite under var/) and prints messages per second for
one worker, peak memory, the speed-up over the stock way and the share of the ceiling.
--quick runs ours and the ceiling only, and stock over the first 500 recipients.
"""

import argparse
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


SMTP_SINK = shutil.which("smtp-sink") or shutil.which("smtp-sink", path="/usr/sbin")


def start_sink(kind: str, port: int) -> subprocess.Popen:
    if kind == "smtp-sink":
        command = [SMTP_SINK, "-u", "nobody", f"127.0.0.1:{port}", "256"]
    else:
        handler = ("tests.support.smtp_sink.PipeliningSink" if kind == "aiosmtpd-pipelining"
                   else "aiosmtpd.handlers.Sink")
        command = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                   "-c", handler]
    sink = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=ROOT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return sink
        except OSError:
            time.sleep(0.1)
    sink.kill()
    raise SystemExit("the SMTP sink did not start")


def ceiling_send(messages: list[tuple[str, bytes]], *, sessions: int, per_session: int,
                 envelope_from: str, host: str, port: int) -> int:
    """The sink's ceiling: ``messages`` (envelope recipient, dot-stuffed bytes ending in
    CRLF) over ``sessions`` SMTP sessions, one thread each, no database; returns those
    accepted."""
    feed = iter(messages)  # shared: each session takes the next message when it is free
    lock = threading.Lock()
    accepted = []

    def session() -> None:
        done = 0
        smtp = None
        while True:
            with lock:
                message = next(feed, None)
            if message is None:
                break
            if smtp is None or done % per_session == 0:
                if smtp is not None:
                    smtp.quit()
                smtp = smtplib.SMTP(host, port)
                smtp.ehlo()
                pipelining = smtp.has_extn("pipelining")
            to, raw = message
            commands = (f"MAIL FROM:<{envelope_from}>", f"RCPT TO:<{to}>", "DATA")
            if pipelining:
                smtp.send("".join(command + "\r\n" for command in commands).encode())
                codes = [smtp.getreply()[0] for _ in commands]
            else:
                codes = []
                for command in commands:
                    smtp.send(command.encode() + b"\r\n")
                    codes.append(smtp.getreply()[0])
            if codes != [250, 250, 354]:
                raise RuntimeError(f"the sink refused a message: {codes}")
            smtp.send(raw + b".\r\n")
            done += smtp.getreply()[0] == 250
        if smtp is not None:
            smtp.quit()
        with lock:
            accepted.append(done)

    threads = [threading.Thread(target=session) for _ in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(accepted)


def measure(label, prepare):
    """``prepare()`` sets up one delivery (untimed) and returns the call that makes it."""
    run = prepare()
    started = time.perf_counter()
    count = run()
    seconds = time.perf_counter() - started
    run = prepare()
    tracemalloc.start()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"label": label, "count": count, "seconds": seconds, "rate": count / seconds,
            "peak_mb": peak / 2**20}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--sink", choices=["smtp-sink", "aiosmtpd", "aiosmtpd-pipelining"],
                        default="smtp-sink" if SMTP_SINK else "aiosmtpd")
    parser.add_argument("--windows", default="4,16,8",
                        help="ledger windows to run ours with; the last (the default window, "
                        "8) is the one +DKIM, +pacing and the ceiling run beside")
    parser.add_argument("--pace-factor", type=float, default=5.0,
                        help="pacing rate for the +pacing row, as a multiple of ours' speed")
    parser.add_argument("--quick", action="store_true",
                        help="ours at each window and the ceiling only (no DKIM, pacing, stock)")
    args = parser.parse_args()
    windows = [int(window) for window in args.windows.split(",")]

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    port = free_port()
    sink = start_sink(args.sink, port)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_PROVIDER = "local"
    setup_test_environment()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # over locmem
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        results, extras = run_all(args.recipients, windows, args.pace_factor, args.quick)
    finally:
        teardown_databases(databases, verbosity=0)
        sink.terminate()
    stock = results[-1]
    ceiling = extras["ceiling"]
    print(f"\nLocal delivery of one campaign to {args.recipients} recipients, one worker, "
          f"{args.sink} on loopback ({settings.DATABASES['default']['ENGINE'].split('.')[-1]}, "
          f"{settings.CAMPAIGN_SMTP_CONNECTIONS} SMTP sessions)")
    print(f"{'method':<52}{'sent':>7}{'seconds':>9}{'msg/s':>8}{'peak MB':>9}"
          f"{'vs stock':>9}{'of ceiling':>11}{'uncertain':>11}")
    for row in results:
        print(f"{row['label']:<52}{row['count']:>7}{row['seconds']:>9.2f}{row['rate']:>8.0f}"
              f"{row['peak_mb']:>9.1f}{row['rate'] / stock['rate']:>8.1f}x"
              f"{row['rate'] / ceiling['rate']:>10.0%}{row['uncertain']:>11}")
    print("uncertain: the most messages a SIGKILL can leave uncertain (the ledger window).")
    base = extras["base"]
    print(f"\nPer message, against '{base['label']}' ({1e6 / base['rate']:.0f} µs a message; "
          f"the ceiling {1e6 / ceiling['rate']:.0f} µs):")
    for key in ("dkim", "pacing"):
        if key not in extras:
            continue
        row = extras[key]
        delta = 1e6 / row["rate"] - 1e6 / base["rate"]
        print(f"  {row['label']:<46}{1e6 / row['rate']:>7.0f} µs a message ({delta:+.0f} µs)")
    if "signer_us" in extras:
        print(f"  DKIM signer alone (one prepared message, {extras['signer_size']} bytes): "
              f"{extras['signer_us']:.0f} µs CPU a message (OpenSSL RSA-2048 via cryptography); "
              f"dkimpy's own dkim.sign: {extras['dkimpy_us']:.0f} µs")
    if "pace_rate" in extras:
        print(f"  pacing: rate {extras['pace_rate']}/s, daily cap {extras['pace_cap']}: "
              f"{extras['pacing_sent_today']} counted today, never reached")


def run_all(recipients: int, windows: list[int], pace_factor: float, quick: bool):
    import functools
    from datetime import timedelta

    from django.conf import settings
    from django.core.mail import send_mail
    from django.core.mail.message import make_msgid
    from django.utils import timezone

    from cms.models import Offer
    from pipeline.campaigns.models import Delivery, DeliveryState
    from pipeline.campaigns.services.campaigns import campaign_create_discount, campaign_schedule
    from pipeline.campaigns.services.rendering import campaign_render
    from pipeline.campaigns.services.sending import campaign_send
    from pipeline.providers.message import personalize
    from pipeline.subscribers.models import Subscriber
    from pipeline.subscribers.tokens import unsubscribe_url

    Subscriber.objects.bulk_create(
        [Subscriber(email=f"reader{i}@example.com", status="subscribed")
         for i in range(recipients)], batch_size=2000,
    )
    now = timezone.now()
    offer = Offer(name="Bench", code="bench", percent_off=35, starts_at=now - timedelta(hours=1),
                  ends_at=now + timedelta(days=3))
    offer.save()
    offer.save_revision().publish()
    rendered = campaign_render(campaign=campaign_create_discount(
        offer=offer, name="Bench preview", send_at=None))
    unsubscribe_url(subscriber_id=0, email="")  # warm the URL resolver for both runs

    def ours():
        campaign = campaign_create_discount(offer=offer, name="Bench", send_at=None)
        answer = campaign_schedule(campaign=campaign, send_at=timezone.now(), actor="bench")
        assert answer.ok, answer.message

        def send():
            status = campaign_send(campaign_id=campaign.pk, worker="bench")
            assert status == "sent", status
            return Delivery.objects.filter(campaign=campaign, state=DeliveryState.SENT).count()

        return send

    def stock(limit=None):
        sent = 0
        for subscriber_id, email in Subscriber.objects.values_list("pk", "email")[:limit]:
            html, text = personalize(
                rendered, unsubscribe_url=unsubscribe_url(subscriber_id=subscriber_id,
                                                          email=email))
            sent += send_mail(rendered.subject, text, None, [email], html_message=html)
        return sent

    def stock_500():
        return stock(limit=500)

    def ceiling():
        """The same bytes ours sends each reader, made before the clock starts."""
        from pipeline.campaigns.services.local import unsubscribe_link
        from pipeline.providers.campaign_email import CampaignEmail, envelope_address
        from pipeline.providers.campaign_transport import _dot_stuffed
        from pipeline.subscribers.tokens import reader_links

        email = CampaignEmail(rendered)
        messages = []
        for subscriber_id, address in Subscriber.objects.values_list("pk", "email"):
            links = reader_links(subscriber_id=subscriber_id, email=address)
            prepared = email.for_recipient(
                email=address, message_id=make_msgid(domain="example.com"),
                unsubscribe_url=unsubscribe_link(subscriber_id=subscriber_id, email=address),
                preferences_url=links.preferences)
            messages.append((prepared.envelope_to, _dot_stuffed(prepared.raw)))
        return functools.partial(
            ceiling_send, messages, sessions=settings.CAMPAIGN_SMTP_CONNECTIONS,
            per_session=settings.CAMPAIGN_SMTP_MESSAGES_PER_CONNECTION,
            envelope_from=envelope_address(email.from_email),
            host=settings.EMAIL_HOST, port=settings.EMAIL_PORT)

    ceiling_label = (f"ceiling: same bytes, {settings.CAMPAIGN_SMTP_CONNECTIONS} sessions, "
                     "no ledger")
    rows = []
    for window in windows:
        settings.CAMPAIGN_LEDGER_WINDOW = window
        row = measure(f"ours: campaign_send, ledger window {window}", ours)
        rows.append({**row, "uncertain": window})
    base = rows[-1]
    # Right after ours at the default window, so both see the same load on the machine.
    ceiling_row = measure(ceiling_label, ceiling)
    extras = {"base": base, "ceiling": ceiling_row}
    if quick:
        stock_row = measure("stock: send_mail per recipient, first 500", lambda: stock_500)
        return [*rows, {**ceiling_row, "uncertain": "-"}, {**stock_row, "uncertain": "all"}], extras

    # DKIM on: a key made for the run, as an operator's PEM file.
    import tempfile
    import timeit

    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from pipeline.providers.campaign_email import CampaignEmail

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    with tempfile.NamedTemporaryFile(suffix=".pem") as key_file:
        key_file.write(pem)
        key_file.flush()
        settings.DKIM_PRIVATE_KEY_FILE, settings.DKIM_DOMAIN = key_file.name, "example.com"
        row = measure(f"ours +DKIM (rsa-sha256), window {windows[-1]}", ours)
        rows.append({**row, "uncertain": windows[-1]})
        extras["dkim"] = row
        email = CampaignEmail(rendered)
        settings.DKIM_PRIVATE_KEY_FILE = None
        plain = CampaignEmail(rendered).for_recipient(
            email="reader1@example.com", message_id="<1@example.com>",
            unsubscribe_url=unsubscribe_url(subscriber_id=1, email="reader1@example.com")).raw
        number = 200
        extras["signer_us"] = timeit.timeit(lambda: email.signer.sign(plain),
                                            number=number) / number * 1e6
        extras["dkimpy_us"] = timeit.timeit(
            lambda: dkim.sign(plain, b"bench", b"example.com", pem), number=20) / 20 * 1e6
        extras["signer_size"] = len(plain)

    # Pacing on, well above the speed reached: the bucket and the day's counter are asked for
    # every batch and never make anyone wait.
    from pipeline.campaigns.services.pacing import KEY_PREFIX, _storage

    redis = _storage(settings.REDIS_URL).get_connection()
    for key_name in redis.scan_iter(f"{KEY_PREFIX}*"):
        redis.delete(key_name)
    settings.CAMPAIGN_SMTP_RATE = max(int(base["rate"] * pace_factor), 1)
    settings.CAMPAIGN_SMTP_DAILY_CAP = recipients * 10
    row = measure(f"ours +pacing ({settings.CAMPAIGN_SMTP_RATE}/s), window {windows[-1]}", ours)
    rows.append({**row, "uncertain": windows[-1]})
    extras.update(pacing=row, pace_rate=settings.CAMPAIGN_SMTP_RATE,
                  pace_cap=settings.CAMPAIGN_SMTP_DAILY_CAP,
                  pacing_sent_today=sum(int(redis.get(k) or 0)
                                        for k in redis.scan_iter(f"{KEY_PREFIX}:day:*")))
    for key_name in redis.scan_iter(f"{KEY_PREFIX}*"):
        redis.delete(key_name)
    settings.CAMPAIGN_SMTP_RATE = settings.CAMPAIGN_SMTP_DAILY_CAP = None

    stock_row = measure("stock: send_mail per recipient", lambda: stock)
    return [*rows, {**ceiling_row, "uncertain": "-"}, {**stock_row, "uncertain": "all"}], extras

if __name__ == "__main__":
    main()
