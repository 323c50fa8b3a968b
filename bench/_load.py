"""A small closed-loop HTTP load generator shared by the benchmarks: N processes, each with one
keep-alive connection, requesting one path for a fixed time and recording every latency."""

import http.client
import multiprocessing
import time


def _worker(host, port, path, seconds, headers, queue):
    connection = http.client.HTTPConnection(host, port, timeout=10)
    latencies, errors = [], 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers={"Host": "127.0.0.1", **headers})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
        latencies.append(time.perf_counter() - started)
    queue.put((latencies, errors))


def run_load(host: str, port: int, path: str, *, seconds: float, clients: int,
             headers: dict | None = None) -> dict:
    queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_worker,
                                args=(host, port, path, seconds, headers or {}, queue))
        for _ in range(clients)
    ]
    for w in workers:
        w.start()
    results = [queue.get() for _ in workers]
    for w in workers:
        w.join()
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(p / 100 * (len(sorted_values) - 1)))
    return sorted_values[index]
