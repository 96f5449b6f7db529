"""The ``scenebridge`` command line. Domain errors become one clean message and exit code 2."""

from __future__ import annotations

import os
import sys

import typer

from core.errors import ScenebridgeError
from core.settings import offline_environment
from scenebridge.cli import (
    backbone_command,
    data_commands,
    eval_commands,
    fit_command,
    llm_commands,
    recommend_command,
    retrieval_commands,
    serve_command,
    tune_command,
)

app = typer.Typer(
    name="scenebridge",
    help="Cross-scene recommendations ranked and explained by a local language model.\n\n"
    "Settings can also be given as SCENEBRIDGE_* environment variables "
    "(SCENEBRIDGE_STORE_DIR, SCENEBRIDGE_CACHE_DIR, ...).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_commands.register(app)
retrieval_commands.register(app)
recommend_command.register(app)
backbone_command.register(app)
fit_command.register(app)
eval_commands.register(app)
llm_commands.register(app)
serve_command.register(app)
tune_command.register(app)


def main() -> None:
    offline_environment()
    try:
        app()
    except ScenebridgeError as exc:
        typer.secho(f"error: {exc.message}", fg="red", err=True)
        if exc.hint:
            typer.echo(f"  fix: {exc.hint}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted: run the same command again to resume", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug, not bad input: say so without a wall of traceback
        if os.environ.get("SCENEBRIDGE_DEBUG"):
            raise
        typer.secho(f"internal error: {type(exc).__name__}: {exc}", fg="red", err=True)
        typer.echo("  set SCENEBRIDGE_DEBUG=1 to see the traceback, and please report it", err=True)
        sys.exit(1)
