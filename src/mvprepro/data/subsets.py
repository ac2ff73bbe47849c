"""Training-set sizes: nested, class-balanced subsets of a training split.

The sample-efficiency experiment trains every method on growing subsets of one training
split. For the comparison to be about the number of examples and nothing else, the subsets
are *nested* (the 64 examples are inside the 256) and *the same for every method and run
seed*: they are prefixes of one ordering of the split, fixed by the dataset's split seed.

The ordering is class-balanced where the data allows: each class's examples are shuffled,
then taken in turn, one of each class in class-id order, so every prefix holds as many
examples of each class as possible (counts differ by at most one until a class runs out,
after which the remaining classes continue in turn).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

# The label of the whole training split in ``train_sizes``.
FULL = "full"


class SizeError(ValueError):
    """A training-set size the split cannot provide; the message names the config key."""


def balanced_order(labels: Sequence[int], seed: int) -> list[int]:
    """Indices of ``labels`` in the class-balanced order whose prefixes are the subsets."""
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = {}
    for i, y in enumerate(labels):
        by_class.setdefault(int(y), []).append(i)
    queues = []
    for y in sorted(by_class):
        members = by_class[y]
        rng.shuffle(members)
        queues.append(members)
    order: list[int] = []
    depth = 0
    while len(order) < len(labels):
        order += [q[depth] for q in queues if depth < len(q)]
        depth += 1
    return order


def resolve(size: int | float | str, available: int, dataset: str) -> int:
    """The number of training examples a ``train_sizes`` entry stands for."""
    if size == FULL:
        return available
    if isinstance(size, float):
        if not 0 < size <= 1:
            raise SizeError(f"datasets.{dataset}: train_sizes entry {size} must be a count, a fraction in (0, 1] or 'full'")
        return max(1, round(size * available))
    if int(size) > available:
        raise SizeError(
            f"datasets.{dataset}: train_sizes entry {size} is larger than its training split "
            f"({available} examples); remove it, lower it, or use 'full'"
        )
    return int(size)


def subset_indices(labels: Sequence[int], size: int | float | str, seed: int, dataset: str) -> list[int]:
    """The training examples of one size, in the split's own order (so that batching and
    shuffling by the run's seed proceed exactly as on a split of that size)."""
    n = resolve(size, len(labels), dataset)
    return sorted(balanced_order(labels, seed)[:n])


def size_label(size: int | float | str) -> str:
    """How a size appears in paths and tables: ``64``, ``0.1``, ``full``."""
    if isinstance(size, str):
        return size
    return repr(float(size)) if isinstance(size, float) else str(int(size))


def parse_label(label: str) -> int | float | str:
    """The ``train_sizes`` entry a label stands for (inverse of :func:`size_label`)."""
    if label == FULL:
        return FULL
    try:
        return int(label)
    except ValueError:
        return float(label)
