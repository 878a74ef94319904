"""The command-line page of the documentation site names every command and every option of ``spikegrad``."""

from __future__ import annotations

from pathlib import Path

import typer.main

from spikegrad.cli import app

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_every_command_and_option_is_on_the_cli_page():
    text = PAGE.read_text()
    group = typer.main.get_command(app)
    assert len(group.commands) >= 6
    missing = []
    for name, command in group.commands.items():
        if f"spikegrad {name}" not in text:
            missing.append(name)
        for param in command.params:
            missing += [f"{name} {opt}" for opt in param.opts if opt.startswith("--") and opt != "--help" and opt not in text]
    assert not missing, f"docs/cli.md does not mention: {missing}"
