"""The execution environment lifecycle as an enum and a transition table.

    STARTING ──► IDLE ◄──► BUSY
        │         │         │
        └─────────┴────┬────┘
                       ▼
                    STOPPING ──► DEAD

An environment is BUSY from the moment an invocation is assigned until that invocation's
outcome is settled; it is IDLE (reusable) as soon as a surviving outcome is settled, even
before the runtime polls `next` again, so back-to-back calls reuse a warm process. An
illegal transition is a bug in sluice, raised as `RuntimeError`.
"""

from __future__ import annotations

from enum import Enum


class EnvState(Enum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    STOPPING = "stopping"
    DEAD = "dead"


TRANSITIONS: dict[EnvState, frozenset[EnvState]] = {
    EnvState.STARTING: frozenset({EnvState.BUSY, EnvState.STOPPING}),
    EnvState.IDLE: frozenset({EnvState.BUSY, EnvState.STOPPING}),
    EnvState.BUSY: frozenset({EnvState.IDLE, EnvState.STOPPING}),
    EnvState.STOPPING: frozenset({EnvState.DEAD}),
    EnvState.DEAD: frozenset(),
}


def check_transition(current: EnvState, wanted: EnvState) -> None:
    """Raise if the lifecycle does not allow `current -> wanted`."""
    if wanted not in TRANSITIONS[current]:
        raise RuntimeError(f"illegal environment transition {current.name} -> {wanted.name}")
