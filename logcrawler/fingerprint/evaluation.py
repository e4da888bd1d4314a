"""Grouping accuracy, the LogPAI measure the benchmark and the accuracy tests share."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence


def grouping_accuracy(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> float:
    """The share of lines whose predicted group holds exactly the lines of their true group."""
    if len(predicted) != len(truth):
        raise ValueError("one prediction per line is needed")
    if not truth:
        return 0.0
    true_sizes = Counter(truth)
    predicted_sizes = Counter(predicted)
    truths_per_group: dict[Hashable, set[Hashable]] = defaultdict(set)
    for group, true_group in zip(predicted, truth, strict=True):
        truths_per_group[group].add(true_group)
    correct = 0
    for group, true_groups in truths_per_group.items():
        if len(true_groups) == 1 and true_sizes[next(iter(true_groups))] == predicted_sizes[group]:
            correct += predicted_sizes[group]
    return correct / len(truth)
