"""Anchors, fingerprints and the matching ladder, in plain Python."""

from __future__ import annotations

from textwrap import dedent

from codehealth.normal_form import RawFinding
from codehealth.tracking import (
    Known,
    Rung,
    SourceIndex,
    anchor_findings,
    assign_fingerprints,
    match_findings,
)
from codehealth.tracking.anchors import PythonSymbols, declaration_symbol

MODULE = dedent(
    """\
    import os


    class Shop:
        @property
        def total(self):
            return sum(x for x in self.items)

        def pay(self, amount):
            def inner():
                return amount == None
            return inner


    def helper():
        return 1
    """
)


def test_python_symbols_are_the_innermost_def_or_class() -> None:
    symbols = PythonSymbols(MODULE)

    assert symbols.at(1) == ""
    assert symbols.at(5) == "Shop.total"  # the decorator belongs to the function
    assert symbols.at(7) == "Shop.total"
    assert symbols.at(11) == "Shop.pay.inner"
    assert symbols.at(12) == "Shop.pay"
    assert symbols.at(16) == "helper"
    assert PythonSymbols("def broken(:\n").at(1) == ""


def test_other_languages_take_the_nearest_declaration_above() -> None:
    lines = dedent(
        """\
        export class Cart {
          total(items) {
            return items.length == 0;
          }
        }
        const pay = async (amount) => {
          if (amount == null) {
            return;
          }
        };
        """
    ).splitlines()

    assert declaration_symbol(lines, 3) == "total"
    assert declaration_symbol(lines, 7) == "pay"
    assert declaration_symbol(lines, 8) == "pay"


def _finding(path: str, line: int, rule: str = "E711", message: str = "m") -> RawFinding:
    return RawFinding(
        tool="ruff", rule=rule, kind="lint", severity="low", message=message, path=path, line=line
    )


def _anchored(files: dict[str, str], findings: list[RawFinding]) -> list[RawFinding]:
    anchor_findings(findings, SourceIndex(files.get))
    assign_fingerprints(findings)
    return findings


def test_a_fingerprint_ignores_lines_above_and_whitespace_and_wording() -> None:
    before = _anchored({"a.py": "def f(x):\n    return x==None\n"}, [_finding("a.py", 2)])
    after = _anchored(
        {"a.py": "# added\n\n\ndef f(x):\n\n    return  x == None\n"},
        [_finding("a.py", 6, message="worded otherwise")],
    )

    assert before[0].fingerprint == after[0].fingerprint
    assert before[0].anchor == "f|returnx==None"


def test_identical_tuples_get_an_occurrence_index() -> None:
    source = {
        "a.py": "def f(a):\n    if a == None:\n        pass\n    if a == None:\n        pass\n"
    }
    findings = _anchored(source, [_finding("a.py", 4), _finding("a.py", 2)])

    assert sorted(f.occurrence for f in findings) == [0, 1]
    assert findings[1].occurrence == 0  # numbered in file order
    assert len({f.fingerprint for f in findings}) == 2


def _known(raw: RawFinding, id: int, *, fixed: bool = False) -> Known:
    return Known(
        id=id,
        fingerprint=raw.fingerprint,
        tool=raw.tool,
        rule=raw.rule,
        path=raw.path,
        anchor=raw.anchor,
        line_hash=raw.line_hash,
        occurrence=raw.occurrence,
        line=raw.line,
        message=raw.message,
        fixed=fixed,
    )


def test_the_ladder_matches_exact_then_line_hash_then_nearby_message_then_moved() -> None:
    old = _anchored(
        {
            "a.py": "def f(x):\n    return x == None\n",
            "b.py": "def g(y):\n    return y == None\n",
            "c.py": "def h(z):\n    call(z,\n         q=z == None)\n",
            "d.py": "def k(w):\n    return w == None\n",
        },
        [_finding("a.py", 2), _finding("b.py", 2), _finding("c.py", 3), _finding("d.py", 2)],
    )
    known = [_known(f, i) for i, f in enumerate(old, start=1)]
    new = _anchored(
        {
            "a.py": "\n\ndef f(x):\n    return x == None\n",  # lines above
            "b.py": "class G:\n    def g(y):\n        return y == None\n",  # symbol changed
            "c.py": "def h(z):\n    call(z, q=z == None)\n",  # its own line reformatted
            "e.py": "def k(w):\n    return w == None\n",  # moved to another file
        },
        [_finding("a.py", 4), _finding("b.py", 3), _finding("c.py", 2), _finding("e.py", 2)],
    )

    matches = {m.index: (m.known_id, m.rung) for m in match_findings(known, new)}

    assert matches == {
        0: (1, Rung.EXACT),
        1: (2, Rung.LINE_HASH),
        2: (3, Rung.NEARBY_MESSAGE),
        3: (4, Rung.MOVED_FILE),
    }


def test_renames_carry_the_fingerprint_to_the_new_path() -> None:
    old = _anchored({"a.py": "def f(x):\n    return x == None\n"}, [_finding("a.py", 2)])
    new = _anchored({"z.py": "def f(x):\n    return x == None\n"}, [_finding("z.py", 2)])

    matches = match_findings([_known(old[0], 7)], new, {"a.py": "z.py"})

    assert [(m.known_id, m.rung) for m in matches] == [(7, Rung.EXACT)]


def test_only_the_exact_rung_brings_back_a_fixed_finding() -> None:
    old = _anchored({"a.py": "def f(x):\n    return x == None\n"}, [_finding("a.py", 2)])
    same = _anchored({"a.py": "def f(x):\n    return x == None\n"}, [_finding("a.py", 2)])
    moved = _anchored(
        {"a.py": "class C:\n  def f(x):\n    return x == None\n"}, [_finding("a.py", 3)]
    )

    assert [m.rung for m in match_findings([_known(old[0], 1, fixed=True)], same)] == [Rung.EXACT]
    assert match_findings([_known(old[0], 1, fixed=True)], moved) == []


def test_ambiguous_moves_between_files_are_not_guessed() -> None:
    source = "def k(w):\n    return w == None\n"
    old = _anchored({"d.py": source}, [_finding("d.py", 2)])
    new = _anchored({"e.py": source, "f.py": source}, [_finding("e.py", 2), _finding("f.py", 2)])

    assert match_findings([_known(old[0], 1)], new) == []
