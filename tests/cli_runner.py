"""Running the installed ``leadrouter`` command as a process, as an operator would."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str


def cli_command() -> list[str]:
    """``.venv/bin/leadrouter`` (what `make install` puts there), else the package run with ``-m``."""
    installed = Path(sys.executable).with_name("leadrouter")
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "leadrouter_cli"]


def cli_env(**variables: str) -> dict[str, str]:
    """The environment with the CLI's settings; wide enough that tables are not squeezed."""
    return {**os.environ, "COLUMNS": "160",
            "PYTHONPATH": f"{ROOT / 'cli'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **variables}


async def run_cli(*args: str, env: dict[str, str], timeout: float = 120) -> Ran:
    process = await asyncio.create_subprocess_exec(*cli_command(), *args, env=env, stdin=asyncio.subprocess.DEVNULL,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=timeout)
    assert process.returncode is not None
    return Ran(process.returncode, stdout.decode(), stderr.decode())


def table_row(output: str, first_cell: str) -> list[str]:
    """The cells of the rich table row of ``output`` whose first cell is ``first_cell``."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"No table row starts with {first_cell!r} in:\n{output}")
