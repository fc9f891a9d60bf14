"""The README's library snippet runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(section: str) -> list[str]:
    text = README.read_text()
    start = text.index(section)
    end = text.find("\n## ", start + len(section))
    body = text[start : end if end != -1 else None]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_library_snippet_runs():
    blocks = python_blocks("## Use as a library")
    assert blocks, "the README lost its library snippet"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})


def test_quickstart_has_exactly_two_commands_and_ci_uses_the_test_one():
    text = README.read_text()
    start = text.index("## Quickstart")
    block = re.search(r"```bash\n(.*?)```", text[start:], flags=re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make train", "make test"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci


def test_readme_shows_ntm_results_tables():
    """The README shows results/ntm_results.md's summary rows and generalisation tables as they
    are: a table regenerated without the README following fails here."""
    results = (README.parent / "results" / "ntm_results.md").read_text()
    readme = README.read_text()
    summary = [line for line in results.splitlines() if re.match(r"\| \w+ \| \d+ \| \d+/\d+", line)]
    assert summary, "results/ntm_results.md lost its summary rows"
    assert [row for row in summary if row not in readme.splitlines()] == []
    generalisation = results.split("## Generalisation\n", 1)[1].split("## Every run", 1)[0]
    assert generalisation.count("| seed |") >= 4, "the generalisation tables went missing"
    assert generalisation.strip() in readme
