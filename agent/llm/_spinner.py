"""A spinner with the elapsed time, for the long waits of preparing and starting a model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def spinner(text: str, enabled: bool) -> Iterator[None]:
    """A spinner on stderr (nothing when disabled or not a terminal)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not (enabled and console.is_terminal):  # a disabled Progress still prints a newline
        yield
        return
    with Progress(SpinnerColumn(), TextColumn(text), TimeElapsedColumn(), transient=True,
                  console=console) as bar:
        bar.add_task(text, total=None)
        yield
