"""Python tracebacks: frames, app versus library code, chained exceptions."""

from __future__ import annotations

from logcrawler.fingerprint import Frame, parse_traceback

CHAINED = """Traceback (most recent call last):
  File "/srv/app/billing/charge.py", line 10, in charge
    gateway.charge(card)
  File "/srv/app/.venv/lib/python3.11/site-packages/stripe/api.py", line 88, in charge
    raise CardError(msg)
stripe.error.CardError: card declined

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app/billing/views.py", line 31, in pay
    charge(order)
  File "<frozen importlib._bootstrap>", line 1, in _load
  File "/srv/app/billing/charge.py", line 14, in charge
    raise PaymentFailed(order.id) from None
billing.errors.PaymentFailed: 8812
"""


def test_the_raised_exception_and_its_frames_are_parsed() -> None:
    traceback = parse_traceback(CHAINED)

    assert traceback is not None
    assert traceback.exception_type == "billing.errors.PaymentFailed"
    assert traceback.exception_message == "8812"
    assert [frame.function for frame in traceback.frames] == ["pay", "_load", "charge"]


def test_the_key_is_the_type_and_the_app_frames_without_line_numbers() -> None:
    traceback = parse_traceback(CHAINED)

    assert traceback is not None
    assert traceback.key == (
        "billing.errors.PaymentFailed",
        "billing/views.py:pay",
        "billing/charge.py:charge",
    )


def test_library_frames_are_recognised() -> None:
    assert Frame("/usr/lib/python3.11/json/decoder.py", 1, "decode").is_library
    assert Frame("/app/.venv/lib/python3.12/site-packages/x/y.py", 1, "f").is_library
    assert Frame("<frozen importlib._bootstrap>", 1, "_load").is_library
    assert not Frame("/app/shop/views.py", 1, "checkout").is_library


def test_a_traceback_only_in_library_code_keeps_its_innermost_frame() -> None:
    message = (
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.11/json/decoder.py", line 337, in decode\n'
        "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n"
    )
    traceback = parse_traceback(message)

    assert traceback is not None
    assert traceback.key == ("json.decoder.JSONDecodeError", "json/decoder.py:decode")


def test_text_without_a_traceback_is_none() -> None:
    assert parse_traceback("ValueError: nope") is None
    assert parse_traceback("Traceback (most recent call last):\n  truncated") is None
