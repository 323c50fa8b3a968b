"""The test layout's import rules (DESIGN.md, "Layout"), read from the source with ``ast``:

- bench/ and tests/support/ use only tests/support/ of the tests: a helper that a bench or a shared
  helper needs lives there, not in a test folder (dotted names in strings count too, as in
  ``DJANGO_SETTINGS_MODULE`` or ``celery -A`` for a process a bench or a helper starts);
- no file imports a conftest or a test module: fixtures come from conftest by name, and shared
  helpers from tests/support/.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOTTED_TESTS_MODULE = re.compile(r"tests(\.\w+)+")


def is_module(root: Path, dotted: str) -> bool:
    path = root.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def imported_modules(root: Path, path: Path, tree: ast.Module):
    """(line, dotted name) of every module imported, relative imports resolved; for
    ``from x import y``, x and also x.y when y is a module."""
    package = list(path.relative_to(root).parent.parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[:len(package) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            yield node.lineno, base
            for alias in node.names:
                if is_module(root, f"{base}.{alias.name}"):
                    yield node.lineno, f"{base}.{alias.name}"


def module_strings(tree: ast.Module):
    """(line, text) for string constants that are a dotted name under tests."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and DOTTED_TESTS_MODULE.fullmatch(node.value)):
            yield node.lineno, node.value


def offences(path: Path, root: Path = ROOT) -> list[str]:
    relative = path.relative_to(root)
    tree = ast.parse(path.read_text(), filename=str(path))
    support_only = relative.parts[0] == "bench" or relative.parts[:2] == ("tests", "support")
    found = []
    for line, name in imported_modules(root, path, tree):
        parts = name.split(".")
        if "conftest" in parts:
            found.append(f"{relative}:{line} imports {name}: a conftest is not a module to "
                         "import; fixtures come by name, helpers from tests/support/")
        elif parts[0] == "tests" and any(part.startswith("test_") for part in parts[1:]):
            found.append(f"{relative}:{line} imports the test module {name}: move what it "
                         "shares to tests/support/")
        elif support_only and parts[0] == "tests" and len(parts) > 1 and parts[1] != "support":
            found.append(f"{relative}:{line} imports {name}: bench/ and tests/support/ use "
                         "only tests/support/")
    if support_only:
        for line, text in module_strings(tree):
            if text.split(".")[1] != "support":
                found.append(f"{relative}:{line} names the module {text}: bench/ and "
                             "tests/support/ use only tests/support/")
    return found


def python_files():
    for folder in ("bench", "tests"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_bench_and_tests_import_only_what_the_layout_allows():
    found = [offence for path in python_files() for offence in offences(path)]
    assert not found, "\n".join(found)


def test_the_rules_catch_each_kind_of_offence(tmp_path):
    """The checker itself: each forbidden import, written into a file where it is forbidden."""
    for module in ("tests/campaigns/__init__.py", "tests/campaigns/conftest.py",
                   "tests/campaigns/helpers.py", "tests/providers/test_client.py"):
        (tmp_path / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / module).write_text("")
    cases = {
        "bench/one.py": "from tests.campaigns.helpers import make_offer\n",
        "bench/two.py": 'ENV = {"DJANGO_SETTINGS_MODULE": "tests.campaigns.worker_settings"}\n',
        "tests/support/three.py": "import tests.audience.helpers\n",
        "tests/campaigns/test_four.py": "from tests.campaigns.conftest import add_subscribers\n",
        "tests/campaigns/test_five.py": "from .conftest import add_subscribers\n",
        "tests/campaigns/test_six.py": "from tests.providers.test_client import READY_HTML\n",
        "tests/campaigns/test_seven.py": "from . import conftest\n",
        "tests/campaigns/test_eight.py": "from tests.providers import test_client\n",
        "bench/nine.py": "from tests import campaigns\n",
    }
    allowed = {
        "bench/ok.py": "from tests.support.factories import make_series\n"
                       'ENV = {"DJANGO_SETTINGS_MODULE": "tests.support.worker_settings"}\n',
        "tests/campaigns/test_ok.py": "from tests.support.processes import test_database_url\n"
                                      "from tests.campaigns import helpers\n",
    }
    for name, text in {**cases, **allowed}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    for name in cases:
        found = offences(tmp_path / name, root=tmp_path)
        assert found and found[0].startswith(f"{name}:1 "), (name, found)
    for name in allowed:
        assert offences(tmp_path / name, root=tmp_path) == [], name
