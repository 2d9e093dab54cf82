"""Client threads and the tally of what they saw.

A phase starts one thread per role with fresh clients and stops them all when told; each
thread finishes the call it is in (every call has a client timeout), then closes its
connections, so the server's socket count after a phase is its own, not the clients'.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from soak._actions import Action, Clients, Observed, run
from soak._mix import Role

MAX_FAILURE_DETAILS = 50


@dataclass
class Tally:
    """Outcome counts per action, REPORTs owed per function, and the first unexpected
    outcomes in full. Shared by every thread, so every change holds the lock."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    expected: dict[str, str] = field(default_factory=dict)
    dispatched: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, str]] = field(default_factory=list)
    unexpected: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, action: Action, observed: Observed) -> None:
        with self._lock:
            self.expected[action.name] = action.expected
            self.counts.setdefault(action.name, Counter())[observed.label] += 1
            if observed.dispatched:
                self.dispatched[action.function] += 1
            if observed.label != action.expected:
                self.unexpected += 1
                if len(self.failures) < MAX_FAILURE_DETAILS:
                    self.failures.append(
                        {"action": action.name, "got": observed.label, "detail": observed.detail}
                    )

    def total(self) -> int:
        with self._lock:
            return sum(sum(counter.values()) for counter in self.counts.values())


def _pick(actions: tuple[Action, ...], rng: random.Random) -> Action:
    return rng.choices(actions, weights=[action.weight for action in actions])[0]


def _worker(
    role: Role, make_clients: Callable[[], Clients], tally: Tally, stop: threading.Event, seed: int
) -> None:
    rng = random.Random(seed)
    clients = make_clients()
    try:
        while not stop.is_set():
            action = _pick(role.actions, rng)
            tally.add(action, run(action, clients, rng))
            stop.wait(role.pause)
    finally:
        clients.close()


class Load:
    """The client threads of one phase; `stop` waits for them to finish their calls."""

    def __init__(
        self, roles: list[Role], make_clients: Callable[[], Clients], tally: Tally, seed: int
    ) -> None:
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(
                target=_worker,
                args=(role, make_clients, tally, self._stop, seed * 1000 + index),
                name=f"soak-{role.name}-{index}",
                daemon=True,
            )
            for index, role in enumerate(roles)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def run_each(actions: list[Action], make_clients: Callable[[], Clients], tally: Tally) -> None:
    """Every action once, one after the other: every path, cold start and failure has run
    before anything is measured."""
    clients = make_clients()
    rng = random.Random(0)
    try:
        for action in actions:
            tally.add(action, run(action, clients, rng))
    finally:
        clients.close()
