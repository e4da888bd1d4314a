"""Template groups: stable ids, the merge rule, widening, stored state."""

from __future__ import annotations

import json

from logcrawler.fingerprint import GroupState, TemplateGroup
from logcrawler.fingerprint.evaluation import grouping_accuracy
from logcrawler.fingerprint.groups import best_match, group_id, mismatches


def test_the_id_is_a_hash_of_service_kind_and_key() -> None:
    key = ("disk", "<*>", "full")

    assert group_id(service="api", kind="message", key=key) == group_id(
        service="api", kind="message", key=key
    )
    assert group_id(service="api", kind="message", key=key) != group_id(
        service="web", kind="message", key=key
    )


def test_one_differing_value_like_position_may_merge() -> None:
    template = ("Sandbox:", "QQ(<*>)", "deny", "mach-lookup")

    assert mismatches(template, ("Sandbox:", "Finder(<*>)", "deny", "mach-lookup")) == 1
    assert (
        mismatches(
            ("session", "closed", "for", "user", "cyrus"),
            ("session", "closed", "for", "user", "news"),
        )
        == 1
    )


def test_plain_words_and_second_differences_do_not_merge() -> None:
    assert mismatches(("scanner", "Powered", "On"), ("scanner", "Powered", "Off")) == -1
    assert mismatches(("a", "user", "x", "from", "/p/q"), ("a", "user", "y", "from", "/r/s")) == -1


def test_a_group_widens_once_and_keeps_its_id() -> None:
    group = TemplateGroup(
        id="abc", kind="message", service="", tokens=("Invalid", "user", "alice", "from", "<*>")
    )
    joined, widening = best_match([group], ("Invalid", "user", "bob", "from", "<*>"))
    assert joined is group and widening == 1

    group.widen(("Invalid", "user", "bob", "from", "<*>"))

    assert group.id == "abc"
    assert group.template == "Invalid user <*> from <*>"
    assert best_match([group], ("Invalid", "user", "carol", "from", "<*>")) == (group, 0)
    assert best_match([group], ("Invalid", "admin", "carol", "from", "<*>")) == (None, 0)


def test_state_survives_a_json_round_trip() -> None:
    state = GroupState(
        id="abc",
        kind="message",
        service="api",
        tokens=("a", "<*>"),
        widened=1,
        keys=(("a", "b"), ("a", "c")),
    )

    assert GroupState.from_json(json.loads(json.dumps(state.as_json()))) == state


def test_grouping_accuracy_counts_lines_of_exactly_recovered_groups() -> None:
    truth = ["a", "a", "b", "b", "c"]

    assert grouping_accuracy(["x", "x", "y", "y", "z"], truth) == 1.0
    assert grouping_accuracy(["x", "x", "y", "z", "z"], truth) == 0.4
    assert grouping_accuracy([], []) == 0.0
