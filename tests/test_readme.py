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


def test_every_environment_variable_is_documented():
    example = (ROOT / ".env.example").read_text()
    for name in VARIABLES:
        assert f"| `{name}` |" in README, name
        assert f"\n{name}=" in example, name
