"""Small helpers shared by the command-line tools (kept free of heavy imports and of other tsmdet rooms).

* :func:`run_tool` is every tool's ``sys.exit`` line: it maps the outcome of ``main`` to the
  one exit-code table of the README (0 done, 1 failed while running, 2 bad input or usage,
  128 + signal number when interrupted: 129 SIGHUP, 130 SIGINT, 143 SIGTERM) and turns
  known input errors into one line on stderr instead of a traceback.
* :class:`InputError` is the base of every "the user gave us something we cannot use" error
  (a model file, a source, a checkpoint, a flag); :func:`check_paths` and :func:`reject_flags`
  implement the argument contract (a flag the chosen mode would ignore is an error naming it,
  every path is checked before any work starts).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEBUG_ENV = "TSMDET_DEBUG"
# Errors defined in rooms this module may not import (tsmdet.runtime.engine); matched by class name.
_INPUT_ERROR_NAMES = frozenset({"EngineUnavailableError"})


class InputError(Exception):
    """Bad input or usage: the message names the file, flag or value and says what is wrong (exit 2)."""


class UsageError(InputError):
    """Flags that contradict each other or that the chosen mode would silently ignore."""


class Interrupted(KeyboardInterrupt):
    """A stop signal (SIGTERM, SIGHUP) delivered as the KeyboardInterrupt Python raises for SIGINT."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def signal_number(exc: BaseException) -> int:
    """The signal behind an interrupt (SIGINT for a plain KeyboardInterrupt)."""
    return int(getattr(exc, "signum", signal.SIGINT))


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def install_stop_signals() -> None:
    """SIGTERM and SIGHUP raise :class:`Interrupted` like SIGINT raises KeyboardInterrupt, so the
    same cleanup (finally blocks, context managers) runs for all three. Main thread only."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupted)


def is_input_error(exc: BaseException) -> bool:
    if isinstance(exc, (InputError, FileNotFoundError, NotADirectoryError, IsADirectoryError)):
        return True
    return any(cls.__name__ in _INPUT_ERROR_NAMES for cls in type(exc).__mro__)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


def run_tool(main: Callable[..., int | None], argv: list[str] | None = None) -> int:
    """Run a tool's ``main`` and return its exit code (the README's table).

    ``--debug`` (removed from the arguments before ``main`` sees them) or ``TSMDET_DEBUG=1`` prints
    the traceback of an unexpected error; without it the error is one line and the code is 1.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get(DEBUG_ENV, "") not in ("", "0")
    if "--debug" in args:
        args = [a for a in args if a != "--debug"]
        debug = True
    install_stop_signals()
    try:
        code = main(args)
    except KeyboardInterrupt as exc:
        signum = signal_number(exc)
        print(f"interrupted ({signal.Signals(signum).name})", file=sys.stderr)
        return 128 + signum
    except Exception as exc:  # noqa: BLE001  (the one place every tool's errors end up)
        if is_input_error(exc):
            if debug:
                traceback.print_exc()
            print(f"error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_USAGE
        if debug:
            traceback.print_exc()
        print(f"error: {type(exc).__name__}: {_one_line(exc)} (run with --debug or {DEBUG_ENV}=1 "
              "for the traceback)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if code is None else int(code)


def given(args: argparse.Namespace, dest: str) -> bool:
    """Whether a flag was set to something (None, False and empty lists count as not given)."""
    value = getattr(args, dest, None)
    return value is not None and value is not False and value != []


def reject_flags(args: argparse.Namespace, flags: Iterable[str], why: str) -> None:
    """Raise :class:`UsageError` naming the first of ``flags`` that was given: ``why`` says which
    mode would ignore it (e.g. ``"is used only by --engine torch"``)."""
    for flag in flags:
        if given(args, flag.lstrip("-").replace("-", "_")):
            raise UsageError(f"{flag} {why}")


def check_paths(*checks: tuple[str, str | os.PathLike | None, str]) -> None:
    """``(flag, path, kind)`` with kind ``file``, ``dir`` or ``any``; None paths are skipped.

    Run before any work starts, so a typo costs nothing.
    """
    for flag, path, kind in checks:
        if path is None:
            continue
        p = Path(path)
        ok = {"file": p.is_file, "dir": p.is_dir, "any": p.exists}[kind]()
        if not ok:
            what = {"file": "no such file", "dir": "no such folder", "any": "no such file or folder"}[kind]
            if p.exists():
                what = "not a file" if kind == "file" else "not a folder"
            raise InputError(f"{flag} {path}: {what}")


def frame_size(text: str) -> tuple[int, int]:
    """argparse ``type`` for ``WIDTHxHEIGHT`` (e.g. ``160x120``): a positive (width, height)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}") from None
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return width, height


def positive_int(text: str) -> int:
    """argparse ``type``: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value
