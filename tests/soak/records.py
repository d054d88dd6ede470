"""What the soak writes down while it runs, and judges afterwards."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.support.oci_layout import Layout

KINDS = ("push", "pull", "token", "api")


@dataclass(frozen=True)
class Op:
    """One operation as its client saw it; `status` is the HTTP status where the client saw one
    (None for a refused connection, a timeout or a skopeo run)."""

    kind: str
    instance: str
    start: float  # wall clock (time.time()), to line up with the gateways' JSON log lines
    end: float
    ok: bool
    status: int | None = None
    detail: str = ""
    target: str = ""  # the repository a pull fetched


@dataclass(frozen=True)
class Pushed:
    """A push skopeo reported done (the manifest PUT got its 201)."""

    repository: str
    tag: str
    instance: str
    layout: Layout
    acked_at: float


@dataclass(frozen=True)
class ApiWrite:
    """An API write answered 201: what it made, to look for afterwards."""

    what: str  # team, namespace, token
    name: str
    instance: str


@dataclass
class Fault:
    """A fault from its start (the kill or stop) to its end (the component answers again)."""

    name: str
    target: str | None  # the gateway instance it hit, None for what both share
    start: float
    end: float = 0.0


@dataclass
class Journal:
    ops: list[Op] = field(default_factory=list)
    pushed: list[Pushed] = field(default_factory=list)
    writes: list[ApiWrite] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)  # pulls whose bytes differed from the push
