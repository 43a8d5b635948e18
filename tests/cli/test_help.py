"""``jevons --help`` and each command's ``--help`` as a user reads them: nothing in a help
text is lost to rich's markup, and the command list gives each command one row."""

import re

import pytest
import typer.main
from rich.text import Text
from typer.testing import CliRunner

from jevons.cli.main import app

runner = CliRunner()
# Wide enough that no help text of one sentence wraps on its own.
WIDE = {"COLUMNS": "400", "TERMINAL_WIDTH": "400"}


def _commands() -> dict:
    return typer.main.get_command(app).commands


def _help_texts():
    for name, command in _commands().items():
        yield name, command.help or ""
        for parameter in command.params:
            yield f"{name} {parameter.name}", getattr(parameter, "help", None) or ""


@pytest.mark.parametrize(
    ("where", "text"), [pytest.param(*pair, id=pair[0]) for pair in _help_texts()]
)
def test_no_word_of_a_help_text_is_taken_for_markup(where, text):
    """Rich reads [word] as a style tag and drops it; a bracket meant as text is written
    \\[word], and what the user sees is the text with that escape undone."""
    meant = text.replace("\\[", "[")
    assert Text.from_markup(text).plain == meant, where


def test_bracketed_table_names_are_shown():
    run = runner.invoke(app, ["run", "--help"], env=WIDE)
    assert run.exit_code == 0, run.output
    assert "Added to the scenario's [risk.thresholds]." in run.output
    sweep = runner.invoke(app, ["sweep", "--help"], env=WIDE)
    assert "(may hold a [sweep] table)" in sweep.output
    assert "scenario's [sweep] entry" in sweep.output


def test_each_command_is_one_row_of_the_command_list():
    done = runner.invoke(app, ["--help"], env=WIDE)
    assert done.exit_code == 0, done.output
    panel = done.output.split("─ Commands ")[1].split("╰")[0]
    rows = [line for line in panel.splitlines()[1:] if line.strip("│ ")]
    names = [re.match(r"│ (\S+) ", row) for row in rows]
    assert all(names), panel  # a row without a name continues the one above it
    assert [m[1] for m in names] == list(_commands())
