"""Run docker-compose.yml's services as local processes: no Docker engine here, so the stack is
proven with the compose file's own commands, environment and health checks, pointed at the local
PostgreSQL (or SQLite) and a private Redis this harness can restart.

Only the addresses change: service host names (postgres, redis) become 127.0.0.1 and ports,
container paths (/app/var) become a temporary folder, 0.0.0.0:8000 becomes a free local port, and
programs run from this checkout's virtualenv; and the example's placeholder SECRET_KEY, which
production refuses, becomes a random one. Requests to web go as the TLS proxy sends them
(``X-Forwarded-Proto: https``, see ``ComposeStack.get``): production redirects plain HTTP.
"""

import json
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from tests.support.processes import Process, free_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
APP_SERVICES = ("migrate", "web", "worker", "mailworker", "beat")


def load_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def env_file_values(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


class ComposeStack:
    def __init__(self, workdir: Path, *, database_url: str, redis_url: str, extra_env=None):
        self.workdir = workdir
        self.data_dir = workdir / "var"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.compose = load_compose()
        self.web_port = free_port()
        self.overrides = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "BASE_URL": f"http://127.0.0.1:{self.web_port}",
            "DATA_DIR": str(self.data_dir),
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self.processes: dict[str, Process] = {}
        self.started: list[str] = []

    # What compose would give the container, with addresses made local.
    def service(self, name: str) -> dict:
        return self.compose["services"][name]

    def environment(self, name: str) -> dict[str, str]:
        service = self.service(name)
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
        if service.get("env_file"):
            env.update(env_file_values(ENV_EXAMPLE))
        service_env = service.get("environment") or {}
        env.update({k: self.localize(str(v)) for k, v in service_env.items()})
        env.update(self.overrides)
        env["HOSTNAME"] = "localhost"  # what %h became in the commands
        return env

    def operator_headers(self) -> dict[str, str]:
        """How Prometheus and alerting scrape web: the bearer token when METRICS_TOKEN is set
        (else nothing: web answers /metrics and /health/alerts/ to direct private callers)."""
        token = self.environment("web").get("METRICS_TOKEN", "").strip()
        return {"Authorization": f"Bearer {token}"} if token else {}

    def localize(self, argument: str) -> str:
        argument = argument.replace("/app/var", str(self.data_dir))
        argument = argument.replace("0.0.0.0:8000", f"127.0.0.1:{self.web_port}")
        argument = argument.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{self.web_port}")
        argument = argument.replace("$$", "$").replace("%h", "localhost")
        return argument

    def command(self, name: str) -> list[str]:
        command = [self.localize(part) for part in self.service(name)["command"]]
        program = {"python": [sys.executable], "gunicorn": [sys.executable, "-m", "gunicorn"],
                   "celery": [sys.executable, "-m", "celery"]}[command[0]]
        if command[0] == "celery" and command[3] == "worker":
            # Faster start for a test: no gossip/mingle (cluster chatter), same queues and pool.
            command += ["--without-gossip", "--without-mingle"]
        return program + command[1:]

    def django(self, script: str, service: str = "web"):
        """Run Django code in a service's configuration; return the JSON it prints last."""
        code = "import django, json\ndjango.setup()\n" + script
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT,
                                env=self.environment(service), capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    # Lifecycle.
    def run_once(self, name: str, timeout: float = 300) -> None:
        result = subprocess.run(self.command(name), cwd=ROOT, env=self.environment(name),
                                capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"{name} failed:\n{result.stdout}\n{result.stderr}")
        self.started.append(f"{name} (one-shot, exit 0)")

    def start(self, name: str) -> Process:
        process = Process(name, self.command(name), self.data_dir, self.environment(name))
        self.processes[name] = process
        self.started.append(f"{name} (pid {process.popen.pid}): {shlex.join(self.command(name))}")
        return process

    def kill(self, name: str) -> None:
        self.processes.pop(name).kill(signal.SIGKILL)

    def healthy(self, name: str) -> bool:
        """Run the service's own compose health check, localized."""
        test = self.service(name)["healthcheck"]["test"]
        kind, rest = test[0], test[1:]
        if kind == "CMD-SHELL":
            # The container's python and celery are this checkout's, whatever PATH says.
            script = self.localize(rest[0]).replace("celery ", f"{sys.executable} -m celery ")
            script = re.sub(r"^python ", f"{sys.executable} ", script)
            argv = ["sh", "-c", script]
        else:
            argv = [self.localize(part) for part in rest]
            if argv[0] == "celery":
                argv = [sys.executable, "-m", "celery", *argv[1:]]
            elif argv[0] == "python":
                argv = [sys.executable, *argv[1:]]
        try:
            result = subprocess.run(argv, cwd=ROOT, env=self.environment(name),
                                    capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0

    def get(self, path: str, **headers: str) -> tuple[int | None, bytes]:
        """GET from web as the TLS proxy would (X-Forwarded-Proto: https): the status (None
        while nothing answers) and the body."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.web_port}{path}",
                                         headers={"X-Forwarded-Proto": "https", **headers})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except OSError:
            return None, b""

    def stop_all(self, grace: float = 60) -> dict[str, int]:
        """SIGTERM every process (as `docker compose stop` does) and return their exit codes."""
        for process in self.processes.values():
            if process.popen.poll() is None:
                os.killpg(process.popen.pid, signal.SIGTERM)
        codes = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill(signal.SIGKILL)
                codes[name] = -9
        self.processes.clear()
        return codes
