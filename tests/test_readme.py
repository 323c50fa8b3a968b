from pathlib import Path

from config.settings.env import VARIABLES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second():
    blocks = [b.split("```", 1)[0].strip() for b in README.split("```sh\n")[1:3]]
    run, test = blocks
    assert run.endswith("uv run --frozen python manage.py up")
    assert test.endswith("uv run --frozen pytest")
    assert test in (ROOT / ".ci" / "run").read_text()
    # CI runs the first one on Debian's own Python in a clean HOME (issue 13).
    assert run in (ROOT / ".ci" / "readme-first-command").read_text()
    assert "bash .ci/readme-first-command" in (ROOT / ".ci" / "run").read_text()


def _row(variable) -> str:
    default = f"`{variable.default}`" if variable.default is not None else "—"
    return f"| `{variable.name}` | {default} | {variable.help} |"


def test_the_configuration_table_is_the_declared_variables():
    """Name, default and meaning exactly as declared, in order: the README cannot drift."""
    table = "\n".join(["| Variable | Default | Meaning |", "|---|---|---|"]
                      + [_row(v) for v in VARIABLES.values()])
    assert table + "\n\n" in README


def test_every_environment_variable_is_in_the_example():
    example = (ROOT / ".env.example").read_text()
    for name in VARIABLES:
        assert f"\n{name}=" in example, name
