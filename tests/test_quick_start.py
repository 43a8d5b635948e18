"""The README's Quick start output is what the command prints today."""

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jevons.cli.main import app
from tests.conftest import SCENARIOS

README = Path(__file__).parents[1] / "README.md"


def quick_start_block() -> list[str]:
    text = README.read_text()
    start = text.index("The first command prints something like this.")
    block = text[text.index("```\n", start) + 4 :]
    return block[: block.index("```")].splitlines()


@pytest.mark.slow
def test_the_quick_start_output_is_current(tmp_path):
    result = CliRunner().invoke(
        app,
        ["run", str(SCENARIOS / "chat-assistant.toml"), "-o", str(tmp_path / "chat-assistant.nc"),
         "--backend", "cpu"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = [line.rstrip() for line in result.output.splitlines()]
    shown = [line.rstrip() for line in quick_start_block()]
    # the wall time differs from run to run; the path is the one the README writes to
    without_time = re.compile(r"cpu backend, [\d.]+ s\)")
    printed[0], shown[0] = without_time.sub("", printed[0]), without_time.sub("", shown[0])
    printed[-1] = "wrote chat-assistant.nc"
    assert printed == shown
