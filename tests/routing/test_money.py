"""Money is written one way: `format_money` on pages, in the admin and in errors, its browser
twin (templates/static/juggernaut/money.js) in the page scripts, `money_text` in JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.template import Context, Template

from routing.money import format_money, money_text, quantize_money

MONEY_JS = Path(__file__).resolve().parents[2] / "templates" / "static" / "juggernaut" / "money.js"

CASES = [
    ("0", "$0.00"),
    ("0E-8", "$0.00"),
    ("0E-12", "$0.00"),
    ("0.5", "$0.50"),
    ("0.1", "$0.10"),
    ("0.01", "$0.01"),
    ("0.0125", "$0.0125"),
    ("0.000004", "$0.000004"),
    ("0.000000075", "$0.000000075"),
    ("0.00000000049", "$0.00000000049"),
    ("0.000000000490", "$0.00000000049"),
    ("0.123456", "$0.123"),
    ("0.1235", "$0.124"),  # half up, as a float would not round it
    ("0.12345", "$0.123"),
    ("0.9996", "$1.00"),
    ("0.0000000000005", "$0.000000000001"),
    ("0.0000000000004", "$0.00"),
    ("1", "$1.00"),
    ("1.005", "$1.01"),
    ("10.5", "$10.50"),
    ("1234.5", "$1,234.50"),
    ("1234567.891", "$1,234,567.89"),
    ("-0.25", "-$0.25"),
    ("-3", "-$3.00"),
    ("2.5E-7", "$0.00000025"),
]


@pytest.mark.parametrize(("amount", "shown"), CASES)
def test_format_money(amount: str, shown: str) -> None:
    assert format_money(Decimal(amount)) == shown


def test_the_browser_twin_writes_every_amount_as_python_does() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node to run money.js")
    script = (
        f"import {{ formatMoney }} from {json.dumps(MONEY_JS.as_uri())};\n"
        f"const amounts = {json.dumps([amount for amount, _ in CASES])};\n"
        "console.log(JSON.stringify(amounts.map(formatMoney)));\n"
    )
    out = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(out.stdout) == [shown for _, shown in CASES]


def test_json_money_is_fixed_point_to_twelve_places() -> None:
    assert money_text(Decimal("0E-8")) == "0"
    assert money_text(Decimal("0.000000000490")) == "0.00000000049"
    assert money_text(Decimal("1.5E-7")) == "0.00000015"
    assert money_text(0.1) == "0.1"  # an aggregate SQLite answered as a float
    assert quantize_money(Decimal("0.0000000000004")) == Decimal("0E-12")


def test_the_template_filter_is_the_same_rule() -> None:
    rendered = Template("{% load money %}{{ a|money }} {{ b|money }} {{ c|money }}").render(
        Context({"a": Decimal("0E-8"), "b": Decimal("0.00000000049"), "c": None})
    )

    assert rendered == "$0.00 $0.00000000049 —"
