"""Run the emulator:

    uv run python -m tests.support.mailchimp_emulator --port 8025 --latency-ms 0
"""

import argparse
import signal
import threading

from .server import DEFAULT_API_KEY, Emulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.support.mailchimp_emulator",
                                     description="Mailchimp Marketing API emulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--list-id", default="a1b2c3d4e5", help="id of the seeded audience")
    parser.add_argument("--max-in-flight", type=int, default=10)
    parser.add_argument("--fault-seed", type=int, default=None,
                        help="seed for probabilistic faults, for repeatable runs")
    args = parser.parse_args(argv)

    emulator = Emulator(host=args.host, port=args.port, api_key=args.api_key,
                        latency_ms=args.latency_ms, max_in_flight=args.max_in_flight,
                        list_id=args.list_id, fault_seed=args.fault_seed).start()
    # One line a parent process can read to learn the address (port 0 picks one).
    print(f"mailchimp-emulator listening on {emulator.url} list_id={emulator.list_id} "
          f"api_key={args.api_key}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    emulator.stop()


if __name__ == "__main__":
    main()
