"""Protobuf text format for Triton's ``config.pbtxt``: a small writer, and validation against the schema.

The writer turns nested Python values into text format (so the repository writer builds
plain dicts and never concatenates config strings by hand); :func:`validate_config` parses
the text with protobuf's ``text_format`` against Triton's own ``model_config.proto``
(``tritonclient.grpc.model_config_pb2``, shipped by ``tritonclient[grpc]``), which rejects
unknown fields, wrong types and unknown enum values exactly as the server's parser does.

Value mapping: ``dict`` -> message ``{ ... }``; ``list`` of dicts -> repeated message
``[ {...}, {...} ]``; ``list`` of scalars -> ``[ 1, 2 ]``; ``str`` -> quoted string;
:class:`Enum` -> bare enum identifier (``TYPE_FP32``); ``bool`` -> ``true``/``false``.
"""

from __future__ import annotations

from typing import Any


class Enum(str):
    """An enum identifier, written without quotes (``KIND_CPU``, ``TYPE_FP32``)."""


class ConfigError(ValueError):
    """A generated model configuration does not parse against Triton's schema."""


def _scalar(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # C-style escapes that protobuf's text format reads back exactly; non-ASCII stays UTF-8
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as a protobuf text scalar")


def _field(key: str, value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(value, dict):
        return [f"{pad}{key} {{", *_message(value, indent + 1), f"{pad}}}"]
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, dict) for v in value):
            lines = [f"{pad}{key} ["]
            for i, item in enumerate(value):
                lines += [
                    f"{pad}  {{",
                    *_message(item, indent + 2),
                    f"{pad}  }}{',' if i < len(value) - 1 else ''}",
                ]
            return lines + [f"{pad}]"]
        return [f"{pad}{key}: [ {', '.join(_scalar(v) for v in value)} ]"]
    return [f"{pad}{key}: {_scalar(value)}"]


def _message(fields: dict[str, Any], indent: int) -> list[str]:
    lines: list[str] = []
    for key, value in fields.items():
        if value is None:
            continue
        lines += _field(key, value, indent)
    return lines


def to_pbtxt(config: dict[str, Any]) -> str:
    """The text format of a ``ModelConfig`` given as nested dicts (``None`` values are left out)."""
    return "\n".join(_message(config, 0)) + "\n"


def validate_config(text: str, source: str = "config.pbtxt") -> Any:
    """Parse ``text`` as Triton's ``inference.ModelConfig``; returns the message, raises ``ConfigError``.

    Raises ``ImportError`` when ``tritonclient[grpc]`` (which ships ``model_config_pb2``) is missing.
    """
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    try:
        return text_format.Parse(text, model_config_pb2.ModelConfig())
    except text_format.ParseError as exc:
        raise ConfigError(f"{source}: not a valid Triton model configuration: {exc}") from exc
