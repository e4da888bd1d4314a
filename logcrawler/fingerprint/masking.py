"""Masking: turn a log message into the token sequence that a template is made of.

Variable parts become the wildcard ``<*>``: numbers, hex, ids, IPs (v4 and v6, with ports),
MAC addresses, UUIDs, timestamps and dates, durations and sizes with their units, block ids,
paths and URLs, host names, ``key=value`` values. The message is split on whitespace and
each token masked on its own (quotes and brackets around it kept); a second pass joins
values spread over several tokens ("5.2 KB", "Sun Jul 10 03:55:15 2005", a list of ids).

``mask_token`` and ``normalise`` are the definition; ``TokenMasker`` gives the same result
much faster with caches and shortcuts for the commonest shapes (the tests hold the two to
the same output).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

WILDCARD = "<*>"

# Applied to each whitespace token that holds a digit. Order matters: the longest, most
# specific shapes first, plain numbers last.
_VARIABLE = re.compile(
    r"""
    \d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?
    | [0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}
    | (?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?![\w.])
    | (?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{1,4}(?![\w:])
    | 0[xX][0-9a-fA-F]+
    | (?<![\w-])(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b
    | (?<![A-Za-z0-9])-\d+(?:\.\d+)*
    | \d+(?:\.\d+)*
    """,
    re.VERBOSE,
)
_HAS_DIGIT = re.compile(r"\d")
# Without one of these characters no rule below can change a token.
_MAY_VARY = re.compile(r"[\d=/.*]")
# A token left with nothing but wildcards and punctuation ("<*>:<*>:<*>", "<*>.<*>") is one
# value, whatever punctuation the writer used.
_ONLY_WILDCARDS = re.compile(r"(?:<\*>|[-:.,/_#+@|])+")
_KEY_VALUE = re.compile(r"([A-Za-z_][\w.\-]*)=(.*)")
_HOST = re.compile(r"(?:[\w<>*-]+\.)+[\w<>*-]+")
# Quotes, brackets and punctuation around a token; masking keeps them.
WRAPPING_PUNCTUATION = "'\"()[]{},;:.!?"
_GENERIC_TLDS = frozenset(
    {
        *("com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "local"),
        *("lan", "internal", "arpa", "app", "dev", "cloud"),
    }
)
_SECOND_LEVEL = frozenset(("com", "net", "org", "edu", "gov", "co", "ac", "ne", "or"))
_UNITS = frozenset(
    {
        *("B", "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "kB", "b", "bytes", "%"),
        *("ns", "us", "ms", "s", "sec", "secs", "seconds", "min", "mins"),
    }
)
_UNIT_SUFFIX = ",;:.)"
# A unit after a number, with the punctuation that may follow it ("KB", "KB,", "ms)."...).
_UNIT_TOKENS = frozenset(
    unit + first + second
    for unit in _UNITS
    for first in ("", *_UNIT_SUFFIX)
    for second in ("", *_UNIT_SUFFIX)
    if first or not second
)
_HEX_DIGITS = "0123456789abcdefABCDEF"
_MIN_HEX_ID = 8
_MONTHS = frozenset(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
)
_WEEKDAYS = frozenset(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
_CACHE_LIMIT = 100_000


def _is_host_name(core: str) -> bool:
    if _HOST.fullmatch(core) is None:
        return False
    if WILDCARD in core:
        return True
    labels = core.split(".")
    if labels[-1] in _GENERIC_TLDS:
        return True
    # Country domains only behind a known second level ("example.com.mx", "isp.co.uk"), so
    # that dotted constants such as "mapred.task.id" stay constants.
    last = labels[-1]
    return (
        len(labels) >= 3
        and len(last) == 2
        and last.isalpha()
        and last.islower()
        and labels[-2] in _SECOND_LEVEL
    )


def _mask_core(core: str) -> str:
    if _HAS_DIGIT.search(core) is not None:
        core = _VARIABLE.sub(WILDCARD, core)
    key_value = _KEY_VALUE.fullmatch(core)
    if key_value is not None:
        return key_value.group(1) + "=" + (WILDCARD if key_value.group(2) else "")
    if (core.startswith("/") and core.count("/") > 1) or "://" in core:
        return WILDCARD
    if WILDCARD in core and _ONLY_WILDCARDS.fullmatch(core) is not None:
        return WILDCARD
    if "." in core and _is_host_name(core):
        return WILDCARD
    return core


def mask_token(token: str) -> str:
    """One whitespace token after masking; quotes and brackets around it are kept."""
    core = token.strip(WRAPPING_PUNCTUATION)
    if not core:
        return token
    if core == token:
        return _mask_core(token)
    start = token.index(core)
    return token[:start] + _mask_core(core) + token[start + len(core) :]


def _is_plain_value(core: str) -> bool:
    """A shortcut for the commonest values: what ``mask_token`` would turn into one wildcard.

    Numbers, addresses and times ("67108864", "/10.2.3.4:50010", "-12:00:01.5"), hex numbers
    ("0x0b1eee0", "00a1c3f0") and absolute paths.
    """
    first = core[0]
    if first == "/":
        if core.count("/") > 1:
            return True
        core = core[1:]
    digits = core.lstrip("-")
    if (
        digits[:1].isdigit()
        and digits[-1].isdigit()
        and digits.replace(".", "").replace(":", "").isdigit()
    ):
        return True
    if core[:2] in ("0x", "0X"):
        return len(core) > 2 and not core[2:].strip(_HEX_DIGITS)
    return len(core) >= _MIN_HEX_ID and not core.strip(_HEX_DIGITS) and not core.isalpha()


def normalise(masked_tokens: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """Template tokens from (raw token, masked token) pairs: values spread over several
    tokens ("5.2 KB", "Sun Jul 10 03:55:15 2005", "blk_1 blk_2 blk_3") become one wildcard.
    """
    out: list[str] = []
    for raw, token in masked_tokens:
        if out:
            previous = out[-1]
            if previous == WILDCARD:
                if token == WILDCARD:
                    continue
                if token in _UNIT_TOKENS:
                    out[-1] = WILDCARD + raw[len(raw.rstrip(_UNIT_SUFFIX)) :]
                    continue
            elif token == WILDCARD and previous in _MONTHS:
                out[-1] = WILDCARD
                if len(out) > 1 and out[-2] in _WEEKDAYS:
                    out.pop()
                    out[-1] = WILDCARD
                if len(out) > 1 and out[-2] == WILDCARD:
                    out.pop()
                continue
            elif token == previous and WILDCARD in token:
                continue
        out.append(token)
    return tuple(out)


def mask_message(message: str) -> str:
    """The message as a template: variable parts replaced by the wildcard."""
    return " ".join(normalise((raw, mask_token(raw)) for raw in message.split()))


# Masking treats every digit but 0 alike (0 only matters in "0x") and no pattern counts past
# 12 digits in a row, so tokens that differ only in such digits, or in the length of very
# long digit runs, share one cache entry: ids stop missing the cache.
_FOLD_DIGITS = bytes.maketrans(b"23456789", b"11111111")
_LONG_RUN_LENGTH = 12
_LONG_DIGIT_RUN = re.compile(r"\d{13,}")
_LONG_RUN_FOLDED = "1" * 13


# Shortcuts for the commonest shapes, each masked exactly as ``mask_token`` would (the tests
# hold the two to the same output):
# - a value in optional brackets/quotes/punctuation: a number, address or time ("67108864",
#   "/10.2.3.4:50010," "-12:00:01.5"), a hex number ("0x0b1eee0", "00a1c3f0"): one wildcard;
# - a numbered name ("blk_-6952295868487656571", "rdd_42", "core.1234"): a digit-free name,
#   a separator and a number that no pattern can join to the name, so every number masks alike.
_PLAIN_VALUE = re.compile(
    r"""
    [(\[{'"]*
    (/?-?\d(?:[\d.:]*\d)?|0[xX][0-9a-fA-F]+|(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,})
    [)\]}'",;:.!?]*
    """,
    re.VERBOSE,
)
_NUMBERED_NAME = re.compile(r"([A-Za-z_]+[_.=\#-]-?)\d+")


def _cache_key(raw: str) -> str:
    """A token that ``mask_token`` masks exactly as it masks ``raw``, shared by many tokens."""
    # On the UTF-8 bytes: bytes.translate is many times faster than str.translate.
    folded = (
        raw.encode("utf-8", "surrogatepass")
        .translate(_FOLD_DIGITS)
        .decode("utf-8", "surrogatepass")
    )
    if len(folded) > _LONG_RUN_LENGTH:
        folded = _LONG_DIGIT_RUN.sub(_LONG_RUN_FOLDED, folded)
    return folded


class TokenMasker:
    """Masks messages into template tokens, caching each distinct token's mask (bounded)."""

    __slots__ = ("_folded", "_tokens")

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}
        self._folded: dict[str, str] = {}

    def tokens(self, message: str) -> tuple[str, ...]:
        """The template tokens of one message; the same result as ``normalise`` gives."""
        get = self._tokens.get
        miss = self._miss
        out: list[str] = []
        append = out.append
        previous = ""
        for raw in message.split():
            token = get(raw) or miss(raw)
            if previous == WILDCARD:
                if token == WILDCARD:
                    continue
                if token in _UNIT_TOKENS:
                    out[-1] = previous = WILDCARD + raw[len(raw.rstrip(_UNIT_SUFFIX)) :]
                    continue
            elif token == previous:
                if WILDCARD in token:
                    continue
            elif token == WILDCARD and previous in _MONTHS:
                out[-1] = WILDCARD
                if len(out) > 1 and out[-2] in _WEEKDAYS:
                    out.pop()
                    out[-1] = WILDCARD
                if len(out) > 1 and out[-2] == WILDCARD:
                    out.pop()
                previous = WILDCARD
                continue
            append(token)
            previous = token
        return tuple(out)

    def _miss(self, raw: str) -> str:
        if _MAY_VARY.search(raw) is None:
            token = raw
        else:
            value = _PLAIN_VALUE.fullmatch(raw)
            name = None if value is not None else _NUMBERED_NAME.fullmatch(raw)
            if value is not None:
                token = raw.replace(value.group(1), WILDCARD, 1)
            elif name is not None:
                token = self._masked(name.group(1) + "1")
            else:
                core = raw.strip(WRAPPING_PUNCTUATION)
                if core and _is_plain_value(core):
                    token = raw.replace(core, WILDCARD, 1)
                else:
                    token = self._masked(_cache_key(raw))
        if len(self._tokens) >= _CACHE_LIMIT:
            self._tokens.clear()
        self._tokens[raw] = token
        return token

    def _masked(self, folded: str) -> str:
        token = self._folded.get(folded)
        if token is None:
            token = mask_token(folded)
            if len(self._folded) >= _CACHE_LIMIT:
                self._folded.clear()
            self._folded[folded] = token
        return token
