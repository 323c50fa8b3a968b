"""/batches: many operations run in the background, results served as a gzipped tar of JSON."""

import io
import json
import tarfile
import threading

from . import routes
from .problems import Problem, invalid, not_found
from .records import iso, now
from .state import AccountState

RESULTS_PER_FILE = 500


class BatchRunner:
    """Runs submitted batches in a worker thread (or holds them until told, for crash tests)."""

    def __init__(self, state: AccountState):
        self.state = state
        self.base_url = ""  # the emulator's root URL, set by the server once it listens
        self.autorun = True

    def submit(self, body: dict) -> dict:
        operations = body.get("operations")
        if not isinstance(operations, list) or not operations:
            raise invalid("The resource submitted could not be validated: operations is "
                          "required.")
        for operation in operations:
            if not isinstance(operation, dict) or operation.get("method") not in (
                    "GET", "POST", "PUT", "PATCH", "DELETE") or not str(
                    operation.get("path", "")).startswith("/"):
                raise invalid("Each operation needs a method and a path.")
            if operation["path"].startswith("/batches"):
                raise invalid("Batch operations cannot start other batches.")
        with self.state.lock:
            batch = {"id": self.state.new_id(), "status": "pending",
                     "total_operations": len(operations), "finished_operations": 0,
                     "errored_operations": 0, "submitted_at": now(), "completed_at": None,
                     "response_body_url": "", "operations": operations, "results": None}
            self.state.batches[batch["id"]] = batch
        if self.autorun:
            self.start(batch["id"])
        return self.batch_json(batch)

    def start(self, batch_id: str) -> None:
        threading.Thread(target=self.run, args=(batch_id,), daemon=True,
                         name=f"batch-{batch_id}").start()

    def run_pending(self) -> int:
        """Run every held batch now, in this thread; returns how many ran."""
        with self.state.lock:
            pending = [b["id"] for b in self.state.batches.values() if b["status"] == "pending"]
        for batch_id in pending:
            self.run(batch_id)
        return len(pending)

    def run(self, batch_id: str) -> None:
        with self.state.lock:
            batch = self.state.batches.get(batch_id)
            if batch is None or batch["status"] != "pending":
                return
            batch["status"] = "started"
        results = []
        for operation in batch["operations"]:
            status, body = self._execute(operation)
            results.append({"status_code": status,
                            "operation_id": operation.get("operation_id"),
                            "response": json.dumps(body) if body is not None else ""})
            with self.state.lock:
                batch["finished_operations"] += 1
                if status >= 400:
                    batch["errored_operations"] += 1
        archive = self._archive(batch_id, results)
        with self.state.lock:
            batch["results"] = archive
            batch["status"] = "finished"
            batch["completed_at"] = now()
            batch["response_body_url"] = (
                f"{self.base_url}/_emulator/batch-results/{batch_id}.tar.gz")

    def _execute(self, operation: dict) -> tuple[int, dict | None]:
        raw = operation.get("body")
        try:
            body = json.loads(raw) if isinstance(raw, str) and raw else (raw or {})
        except json.JSONDecodeError:
            return 400, Problem(400, "JSON Parse Error",
                                "We encountered an unspecified JSON parsing error.").body()
        query = {k: str(v) for k, v in (operation.get("params") or {}).items()}
        path = operation["path"].removeprefix("/3.0")
        return routes.dispatch(self.state, operation["method"], path, query, body)

    @staticmethod
    def _archive(batch_id: str, results: list) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for index in range(0, len(results), RESULTS_PER_FILE):
                data = json.dumps(results[index: index + RESULTS_PER_FILE]).encode()
                info = tarfile.TarInfo(f"{batch_id}/{index // RESULTS_PER_FILE}.json")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        return buffer.getvalue()

    def batch_json(self, batch: dict) -> dict:
        return {"id": batch["id"], "status": batch["status"],
                "total_operations": batch["total_operations"],
                "finished_operations": batch["finished_operations"],
                "errored_operations": batch["errored_operations"],
                "submitted_at": iso(batch["submitted_at"]),
                "completed_at": iso(batch["completed_at"]),
                "response_body_url": batch["response_body_url"]}

    def get(self, batch_id: str) -> dict:
        with self.state.lock:
            batch = self.state.batches.get(batch_id)
            if batch is None:
                raise not_found()
            return self.batch_json(batch)

    def results(self, batch_id: str) -> bytes | None:
        with self.state.lock:
            batch = self.state.batches.get(batch_id)
            return batch["results"] if batch else None

    def all(self, offset: int, count: int) -> dict:
        with self.state.lock:
            batches = list(self.state.batches.values())
            return {"batches": [self.batch_json(b) for b in batches[offset: offset + count]],
                    "total_items": len(batches)}

    def delete(self, batch_id: str) -> None:
        with self.state.lock:
            if self.state.batches.pop(batch_id, None) is None:
                raise not_found()


@routes.route("POST", "/batches")
def post_batch(state, p, q, b):
    return routes.ok(state.batch_runner.submit(b))


@routes.route("GET", "/batches")
def get_batches(state, p, q, b):
    offset, count = routes.page(q)
    return routes.ok(state.batch_runner.all(offset, count))


@routes.route("GET", "/batches/{batch_id}")
def get_batch(state, p, q, b):
    return routes.ok(state.batch_runner.get(p["batch_id"]))


@routes.route("DELETE", "/batches/{batch_id}")
def delete_batch(state, p, q, b):
    return routes.no_content(state.batch_runner.delete(p["batch_id"]))
