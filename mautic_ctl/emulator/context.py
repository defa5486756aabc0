"""What a route handler receives: the parsed request, the caller and the state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .state import Actor, MauticState


@dataclass
class Ctx:
    """One authenticated API call, already parsed the way Symfony/FOSRest would."""

    state: MauticState
    actor: Actor
    method: str
    path: str
    query: dict[str, Any]
    body: Any
    """Decoded JSON (any type) or form fields; {} when the body was not parseable (e.g. text/plain)."""
    args: dict[str, Any] = field(default_factory=dict)
    """Path parameters: ints for ids, strings for `{channel}` and `{operator}`."""
    batch_max: int = 200
    items: int = 0
    """How many entities the call touched, for the cost profile (batch size, ids added)."""
    new_items: int = 0


def php_array(items: dict[int, Any]) -> list[Any] | dict[str, Any]:
    """How PHP's json_encode prints an index-keyed array: a list when the keys are 0..n-1, else an object."""
    keys = list(items)
    if keys == list(range(len(keys))):
        return [items[k] for k in keys]
    return {str(k): v for k, v in items.items()}
