"""Check HTTP answers against Mailchimp's official OpenAPI description (../shared/mailchimp/).

OpenAPI 3.1 schemas are JSON Schema 2020-12, so each response schema is compiled with
jsonschema-rs, with the description's ``components`` beside it so every ``$ref`` resolves, and
with format checks on (date-time, uri). In memory only, three fixes are applied to the upstream
text (see SOURCE.md): the two ``default: false`` on string fields become ``""``; the batch
``completed_at`` ``oneOf`` (a date-time string *or* a string, which no date can satisfy once)
becomes ``anyOf``; and, to catch invented fields, every object schema that lists ``properties``
gets ``unevaluatedProperties: false`` (free-form maps such as ``merge_fields`` stay open).
"""

import copy
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import jsonschema_rs
import pytest

SPEC_DIR = Path(__file__).resolve().parents[4] / "shared" / "mailchimp"
TRIMMED = SPEC_DIR / "openapi.trimmed.json"
FULL = SPEC_DIR / "openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")
COMPOSITION = ("allOf", "anyOf", "oneOf", "$ref", "not", "if")


def conformance_or_skip() -> "Conformance":
    """The checker, or a skipped test where ../shared is not beside the checkout (as the
    other tests of shared inputs do); CI always has it."""
    if not TRIMMED.exists():
        pytest.skip(f"shared input missing: {TRIMMED}")
    return Conformance()


def load_spec(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the Mailchimp OpenAPI description lives in ../shared/mailchimp "
            "beside the repository")
    spec = json.loads(path.read_text())
    return patch_spec(spec)


def patch_spec(spec: dict) -> dict:
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    for name in ("notify_on_subscribe", "notify_on_unsubscribe"):
        prop = schemas.get("ListsLists", {}).get("properties", {}).get(name)
        if prop is not None and prop.get("default") is False:
            prop["default"] = ""
    completed = schemas.get("BatchesBatches", {}).get("properties", {}).get("completed_at")
    if completed and "oneOf" in completed:
        completed["anyOf"] = completed.pop("oneOf")
    _close_objects(spec)
    return spec


def _close_objects(node) -> None:
    if isinstance(node, dict):
        if (isinstance(node.get("properties"), dict) and node.get("type") == "object"
                and not any(k in node for k in COMPOSITION)
                and "additionalProperties" not in node):
            node["unevaluatedProperties"] = False
        for value in node.values():
            _close_objects(value)
    elif isinstance(node, list):
        for value in node:
            _close_objects(value)


@dataclass
class Operation:
    method: str
    template: str  # as in the description, e.g. /3.0/lists/{list_id}
    spec: dict
    pattern: re.Pattern = field(repr=False)


class OpenApiCheck:
    """Finds the documented operation for a request and validates an answer against it."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.operations: list[Operation] = []
        for template, item in spec["paths"].items():
            regex = re.sub(r"\{\w+\}", "[^/]+", re.escape(template).replace(r"\{", "{").replace(
                r"\}", "}"))
            for method in METHODS:
                if method in item:
                    self.operations.append(Operation(method.upper(), template, item[method],
                                                     re.compile(f"^{regex}$")))
        # Literal paths first, so /lists/{id}/members is not taken for /lists/{id}/{other}.
        self.operations.sort(key=lambda op: op.template.count("{"))
        self._validators: dict = {}

    def find(self, method: str, path: str) -> Operation | None:
        for operation in self.operations:
            if operation.method == method and operation.pattern.match(path):
                return operation
        return None

    def validator(self, schema: dict):
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            root = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema,
                    "components": self.spec["components"]}
            self._validators[key] = jsonschema_rs.validator_for(root, validate_formats=True)
        return self._validators[key]

    def errors(self, operation: Operation, status: int, content_type: str | None,
               body: bytes) -> list[str]:
        """Every way this answer breaks the description; empty when it conforms."""
        responses = operation.spec["responses"]
        documented = responses.get(str(status))
        if documented is None:
            if 200 <= status < 300:
                return [f"{status} is not a documented success status "
                        f"(documented: {sorted(responses)})"]
            documented = responses.get("default")
            if documented is None:
                return [f"{status} is not documented and there is no default response"]
        content = documented.get("content") or {}
        if not content:
            return [f"{status} is documented without a body but {len(body)} bytes came"] \
                if body else []
        media = (content_type or "").split(";")[0].strip()
        if media not in content:
            return [f"content type {media!r} is not documented for {status} "
                    f"(documented: {sorted(content)})"]
        try:
            instance = json.loads(body)
        except json.JSONDecodeError as error:
            return [f"body is not JSON: {error}"]
        schema = content[media].get("schema")
        if schema is None:
            return []
        return [f"{'/'.join(map(str, e.instance_path)) or '(root)'}: {e.message}"
                for e in self.validator(schema).iter_errors(instance)]


    def request_errors(self, operation: Operation, body: bytes) -> list[str]:
        """How a request body breaks the operation's documented requestBody."""
        documented = operation.spec.get("requestBody")
        empty = body.strip() in (b"", b"null")  # the client sends "null" for no body
        if documented is None:
            return [] if empty else ["a body was sent to an operation that takes none"]
        if empty:
            return ["the required body is missing"] if documented.get("required") else []
        schema = (documented.get("content") or {}).get("application/json", {}).get("schema")
        try:
            instance = json.loads(body)
        except json.JSONDecodeError as error:
            return [f"body is not JSON: {error}"]
        if schema is None:
            return []
        return [f"{'/'.join(map(str, e.instance_path)) or '(root)'}: {e.message}"
                for e in self.validator(schema).iter_errors(instance)]


class Conformance:
    """The trimmed description first (the routes we use), the full one for the few it lacks."""

    def __init__(self):
        self.trimmed = OpenApiCheck(load_spec(TRIMMED))
        self.checked: set[tuple[str, str]] = set()
        self.checked_in_full: set[tuple[str, str]] = set()
        self.answers = 0
        self.requests_checked: set[tuple[str, str]] = set()

    @cached_property
    def full(self) -> OpenApiCheck:
        return OpenApiCheck(load_spec(FULL))

    def check(self, method: str, path: str, status: int, content_type: str | None,
              body: bytes) -> list[str]:
        path = path.split("?")[0]
        operation = self.trimmed.find(method, path)
        checker, seen = self.trimmed, self.checked
        if operation is None:
            operation = self.full.find(method, path)
            checker, seen = self.full, self.checked_in_full
        if operation is None:
            return [f"{method} {path} is not in Mailchimp's description"]
        seen.add((operation.method, operation.template))
        self.answers += 1
        return [f"{method} {path} -> {status}: {error}"
                for error in checker.errors(operation, status, content_type, body)]

    def check_request(self, method: str, path: str, body: bytes) -> list[str]:
        path = path.split("?")[0]
        operation = self.trimmed.find(method, path)
        checker = self.trimmed
        if operation is None:
            operation, checker = self.full.find(method, path), self.full
        if operation is None:
            return [f"{method} {path} is not in Mailchimp's description"]
        self.requests_checked.add((operation.method, operation.template))
        return [f"{method} {path} request: {error}"
                for error in checker.request_errors(operation, body)]

    def trimmed_operations(self) -> set[tuple[str, str]]:
        return {(op.method, op.template) for op in self.trimmed.operations}
