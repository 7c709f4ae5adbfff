"""RunContext: seeds derived per named component, device, threads, progress.

Seeds follow SPEC 7: one root seed; every component draws from
`SeedSequence(root, spawn_key=<stable hash of its name path>)`. Global RNG state
(`np.random.seed`, `torch.manual_seed`) is never the source of randomness in the library.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from cure4rec.errors import ConfigError

#: what a recipe's `device:` and the CLI's `--device` accept (`cuda:N` too)
DEVICES = ("auto", "cpu", "cuda")


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


@dataclass(frozen=True)
class RunContext:
    """Everything a component needs besides its data and config.

    `path` is the tuple of component names from the root; two contexts with the same seed
    and path produce identical random streams, whatever ran before.
    """

    seed: int = 0
    device: str = "cpu"
    threads: int | None = None
    progress: bool = False
    workdir: Path | None = None
    path: tuple[str, ...] = field(default_factory=tuple)

    def child(self, name: str) -> RunContext:
        """A context for sub-component `name` (e.g. 'shard3', 'retrain-seed1')."""
        return replace(self, path=(*self.path, name))

    def with_seed(self, seed: int) -> RunContext:
        """The same context rooted at another seed (path kept)."""
        return replace(self, seed=seed)

    def seed_sequence(self) -> np.random.SeedSequence:
        """The SeedSequence of this component."""
        return np.random.SeedSequence(self.seed, spawn_key=tuple(_name_key(p) for p in self.path))

    def derived_seed(self) -> int:
        """A 63-bit integer seed for libraries that take an int (torch, sklearn)."""
        return int(self.seed_sequence().generate_state(2, np.uint64)[0] >> np.uint64(1))

    def rng(self) -> np.random.Generator:
        """A fresh numpy Generator for this component."""
        return np.random.default_rng(self.seed_sequence())

    def torch_generator(self, device: str | None = None) -> torch.Generator:
        """A fresh torch Generator for this component (on `device`, default: CPU)."""
        g = torch.Generator(device=device or "cpu")
        g.manual_seed(self.derived_seed())
        return g

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device)

    @contextmanager
    def torch_threads(self) -> Iterator[None]:
        """Run a block with `threads` intra-op threads, restoring the previous value."""
        if not self.threads:
            yield
            return
        old = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(old)

    @contextmanager
    def seeded_torch(self) -> Iterator[None]:
        """Seed torch's global CPU RNG for code that cannot take a Generator (e.g. nn.init).

        The previous global state is restored afterwards, so nothing leaks between components.
        """
        state = torch.random.get_rng_state()
        torch.manual_seed(self.derived_seed())
        try:
            yield
        finally:
            torch.random.set_rng_state(state)


def resolve_device(name: str, where: str = "device") -> str:
    """The device to run on: `auto` is `cuda` when CUDA is available, else `cpu`.

    `cuda` (or `cuda:N`) without an available CUDA device is a ConfigError naming `where`,
    raised before anything is trained.
    """
    name = str(name).strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return name
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise ConfigError(f"{where}: {name!r} was asked for but CUDA is not available "
                              "on this machine; use cpu or auto")
        if ":" in name and int(name[5:]) >= torch.cuda.device_count():
            raise ConfigError(f"{where}: {name!r}: only {torch.cuda.device_count()} CUDA "
                              "device(s) here")
        return name
    raise ConfigError(f"{where}: unknown device {name!r}; use auto, cpu, cuda or cuda:N")


def device_info(device: str) -> dict[str, str]:
    """What a record stores about the device it ran on (`device`, and the GPU's name)."""
    out = {"device": device}
    if device.startswith("cuda") and torch.cuda.is_available():
        out["device_name"] = torch.cuda.get_device_name(torch.device(device))
    return out


def default_threads() -> int:
    """Threads to use when none are configured: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)
