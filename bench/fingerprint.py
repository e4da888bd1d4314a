"""ErrorFingerprinter against Drain3 on the Loghub 2k samples: accuracy, replay, speed.

    .venv/bin/python bench/fingerprint.py [--data DIR] [--dump FILE] [--rounds N]

DIR (default ../shared/data/loghub_2k from the repository) holds one folder per system with
a ``*_structured_corrected.csv`` (or ``*_structured.csv``): LineId, Content, EventId. Each
row's Content is fed in file order, one line at a time, and the group a line gets when it
arrives is its prediction. Grouping accuracy (GA) as in LogPAI: a line is right when the
set of lines in its predicted group equals the set in its true group.

Drain3 runs in the same process on the same lines with LogPAI's per-system Drain settings
(masks, depth, similarity threshold from logparser's benchmark); ours has one configuration
for every system. Throughput is the best of N interleaved rounds, each on a fresh instance.
Loghub's systems are long daemon logs; services log otherwise. The second part runs both
on labelled corpora of other shapes (``logcrawler/fingerprint/corpora.py``: short service
messages, logfmt lines, JSON lines, nginx/Envoy/HAProxy access and connection logs), each
line through ``parse_line`` as ingest does, Drain3 with its defaults (no per-shape tuning
exists for it) on the same messages.

Accuracy is reported per system, as the average, and as the worst system: an average can
hide one system the rules do not fit. The last line printed is one JSON object:
{"ours": ..., "baseline": ..., "ratio": ..., "shapes": ...}.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from _common import shared_data  # noqa: E402
from drain3 import TemplateMiner  # noqa: E402
from drain3.masking import MaskingInstruction  # noqa: E402
from drain3.template_miner_config import TemplateMinerConfig  # noqa: E402

from logcrawler.fingerprint import ErrorFingerprinter, parse_line  # noqa: E402
from logcrawler.fingerprint.corpora import all_corpora  # noqa: E402
from logcrawler.fingerprint.evaluation import grouping_accuracy  # noqa: E402

# logparser benchmark/Drain_benchmark.py: (regex masks, depth, similarity threshold).
DRAIN_SETTINGS: dict[str, tuple[list[str], int, float]] = {
    "HDFS": ([r"blk_-?\d+", r"(\d+\.){3}\d+(:\d+)?"], 4, 0.5),
    "Hadoop": ([r"(\d+\.){3}\d+"], 4, 0.5),
    "Spark": ([r"(\d+\.){3}\d+", r"\b[KGTM]?B\b", r"([\w-]+\.){2,}[\w-]+"], 4, 0.5),
    "Zookeeper": ([r"(/|)(\d+\.){3}\d+(:\d+)?"], 4, 0.5),
    "BGL": ([r"core\.\d+"], 4, 0.5),
    "HPC": ([r"=\d+"], 4, 0.5),
    "Thunderbird": ([r"(\d+\.){3}\d+"], 4, 0.5),
    "Windows": ([r"0x.*?\s"], 5, 0.7),
    "Linux": ([r"(\d+\.){3}\d+", r"\d{2}:\d{2}:\d{2}"], 6, 0.39),
    "Android": (
        [
            r"(/[\w-]+)+",
            r"([\w-]+\.){2,}[\w-]+",
            r"\b(\-?\+?\d+)\b|\b0[Xx][a-fA-F\d]+\b|\b[a-fA-F\d]{4,}\b",
        ],
        6,
        0.2,
    ),
    "HealthApp": ([], 4, 0.2),
    "Apache": ([r"(\d+\.){3}\d+"], 4, 0.5),
    "Proxifier": (
        [r"<\d+\ssec", r"([\w-]+\.)+[\w-]+(:\d+)?", r"\d{2}:\d{2}(:\d{2})*", r"[KGTM]B"],
        3,
        0.6,
    ),
    "OpenSSH": ([r"(\d+\.){3}\d+", r"([\w-]+\.){2,}[\w-]+"], 5, 0.6),
    "OpenStack": ([r"((\d+\.){3}\d+,?)+", r"/.+?\s", r"\d+"], 5, 0.5),
    "Mac": ([r"([\w-]+\.){2,}[\w-]+"], 6, 0.7),
}
DRAIN_SETTINGS["Andriod"] = DRAIN_SETTINGS["Android"]  # Loghub's own spelling
DRAIN_DEFAULT: tuple[list[str], int, float] = ([], 4, 0.4)  # Drain3's defaults


@dataclass
class System:
    name: str
    line_ids: list[str]
    contents: list[str]
    truth: list[str]


@dataclass
class Run:
    ga: float
    groups: int
    replay_new_groups: int
    lines_per_second: float


def load_systems(data: Path) -> list[System]:
    systems = []
    for folder in sorted(path for path in data.iterdir() if path.is_dir()):
        found = sorted(folder.glob("*_structured_corrected.csv")) or sorted(
            folder.glob("*_structured.csv")
        )
        if not found:
            continue
        with found[0].open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        systems.append(
            System(
                name=folder.name,
                line_ids=[row["LineId"] for row in rows],
                contents=[row["Content"] for row in rows],
                truth=[row["EventId"] for row in rows],
            )
        )
    return systems


def new_drain(system: str) -> TemplateMiner:
    masks, depth, threshold = DRAIN_SETTINGS.get(system, DRAIN_DEFAULT)
    config = TemplateMinerConfig()
    config.drain_depth = depth
    config.drain_sim_th = threshold
    # LogPAI's Drain replaces each mask with "<*>", the same wildcard Drain3 parametrises with.
    config.masking_instructions = [MaskingInstruction(pattern, "*") for pattern in masks]
    return TemplateMiner(config=config)


def ours_assign(contents: list[str]) -> tuple[list[str], int, int]:
    fingerprinter = ErrorFingerprinter()
    predicted = [fingerprinter.fingerprint_message(line).id for line in contents]
    groups = len(fingerprinter.groups)
    replayed = [fingerprinter.fingerprint_message(line).id for line in contents]
    if replayed != predicted:
        raise AssertionError("a replayed line got a different fingerprint")
    return predicted, groups, len(fingerprinter.groups) - groups


def drain_assign(system: str, contents: list[str]) -> tuple[list[int], int, int]:
    miner = new_drain(system)
    predicted = [miner.add_log_message(line)["cluster_id"] for line in contents]
    groups = len(miner.drain.clusters)
    for line in contents:
        miner.add_log_message(line)
    return predicted, groups, len(miner.drain.clusters) - groups


def time_ours(contents: list[str]) -> float:
    fingerprinter = ErrorFingerprinter()
    fingerprint = fingerprinter.fingerprint_message
    started = time.process_time()
    for line in contents:
        fingerprint(line)
    return time.process_time() - started


def time_drain(system: str, contents: list[str]) -> float:
    miner = new_drain(system)
    add = miner.add_log_message
    started = time.process_time()
    for line in contents:
        add(line)
    return time.process_time() - started


def best_speeds(
    system: System, rounds: int, timers: tuple[Callable[[], float], Callable[[], float]]
) -> tuple[float, float]:
    """Lines a second for (ours, Drain3): best of interleaved rounds, so both share the noise."""
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for index, timer in enumerate(timers):
            best[index] = min(best[index], timer())
    return len(system.contents) / best[0], len(system.contents) / best[1]


def summary(runs: dict[str, Run]) -> dict[str, Any]:
    out: dict[str, Any] = {"ga": {}, "lines_per_second": {}}
    for name, run in runs.items():
        out["ga"][name] = round(run.ga, 4)
        out["lines_per_second"][name] = round(run.lines_per_second)
    for metric in ("ga", "lines_per_second"):
        values = [out[metric][name] for name in runs]
        out[metric]["average"] = round(statistics.fmean(values), 4) if values else 0.0
    worst = min(runs, key=lambda name: runs[name].ga)
    out["worst_ga"] = {"system": worst, "ga": round(runs[worst].ga, 4)}
    out["groups"] = {name: run.groups for name, run in runs.items()}
    out["replay_new_groups"] = {name: run.replay_new_groups for name, run in runs.items()}
    return out


def shapes() -> dict[str, dict[str, float]]:
    """GA of ours and Drain3 (defaults) on each labelled corpus of other log shapes."""
    results: dict[str, dict[str, float]] = {"ours": {}, "baseline": {}}
    for corpus in all_corpora():
        entries = [parse_line(line) for line in corpus.texts]
        fingerprinter = ErrorFingerprinter()
        ours = [fingerprinter.fingerprint(entry).id for entry in entries]
        miner = TemplateMiner(config=TemplateMinerConfig())
        theirs = [miner.add_log_message(entry.message)["cluster_id"] for entry in entries]
        results["ours"][corpus.name] = round(grouping_accuracy(ours, corpus.truth), 4)
        results["baseline"][corpus.name] = round(grouping_accuracy(theirs, corpus.truth), 4)
        print(
            f"{corpus.name:<15} GA ours {results['ours'][corpus.name]:.4f} "
            f"drain3 {results['baseline'][corpus.name]:.4f} | groups ours {len(set(ours))} "
            f"drain3 {len(set(theirs))} true {len(set(corpus.truth))}"
        )
    for side in results.values():
        values = list(side.values())
        worst = min(side, key=side.__getitem__)
        side["average"] = round(statistics.fmean(values), 4)
        side["worst"] = side[worst]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=shared_data("loghub_2k"))
    parser.add_argument("--dump", type=Path, help="write system,LineId,fingerprint as CSV")
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds per system")
    args = parser.parse_args()
    logging.getLogger("drain3").setLevel(logging.WARNING)
    systems = load_systems(args.data) if args.data.is_dir() else []
    if not systems:
        print(f"no Loghub-style systems under {args.data}", file=sys.stderr)
        return 1
    ours: dict[str, Run] = {}
    baseline: dict[str, Run] = {}
    dump_rows: list[tuple[str, str, str]] = []
    for system in systems:
        if system.name not in DRAIN_SETTINGS:
            print(
                f"{system.name}: no LogPAI settings, Drain3 runs with its defaults", file=sys.stderr
            )
        predicted, groups, replay_new = ours_assign(system.contents)
        drain_predicted, drain_groups, drain_replay_new = drain_assign(system.name, system.contents)
        ours_speed, drain_speed = best_speeds(
            system,
            args.rounds,
            (
                lambda system=system: time_ours(system.contents),
                lambda system=system: time_drain(system.name, system.contents),
            ),
        )
        ours[system.name] = Run(
            grouping_accuracy(predicted, system.truth), groups, replay_new, ours_speed
        )
        baseline[system.name] = Run(
            grouping_accuracy(drain_predicted, system.truth),
            drain_groups,
            drain_replay_new,
            drain_speed,
        )
        dump_rows.extend(
            (system.name, line_id, group)
            for line_id, group in zip(system.line_ids, predicted, strict=True)
        )
        mine, theirs = ours[system.name], baseline[system.name]
        print(
            f"{system.name:<12} GA ours {mine.ga:.4f} drain3 {theirs.ga:.4f} | "
            f"groups ours {mine.groups} drain3 {theirs.groups} true {len(set(system.truth))} | "
            f"replay new groups ours {mine.replay_new_groups} drain3 {theirs.replay_new_groups} | "
            f"lines/s ours {mine.lines_per_second:,.0f} drain3 {theirs.lines_per_second:,.0f}"
        )
    if args.dump:
        with args.dump.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["system", "LineId", "fingerprint"])
            writer.writerows(dump_rows)
    ours_summary, baseline_summary = summary(ours), summary(baseline)
    for label, result in (("ours", ours_summary), ("drain3", baseline_summary)):
        print(
            f"Loghub GA {label}: average {result['ga']['average']:.4f}, worst "
            f"{result['worst_ga']['system']} {result['worst_ga']['ga']:.4f}"
        )
    print("Other log shapes (labelled corpora, logcrawler/fingerprint/corpora.py):")
    shape_results = shapes()
    ratio = {
        metric: {
            name: round(ours_summary[metric][name] / baseline_summary[metric][name], 3)
            if baseline_summary[metric][name]
            else None
            for name in ours_summary[metric]
        }
        for metric in ("ga", "lines_per_second")
    }
    print(
        json.dumps(
            {
                "ours": ours_summary,
                "baseline": baseline_summary,
                "ratio": ratio,
                "shapes": shape_results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
