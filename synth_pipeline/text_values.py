"""Values written as text: dates in one format, numbers with thousands separators.

Both are read only when the whole column agrees, never value by value: a column
is a date column when **one** format explains every non-missing value (a mix of
ISO 8601 and ``31/01/2020`` is refused, since a guess per value swaps days and
months), and a number column when every value is a number written one way
(``3,024,129`` and ``12`` are; ``1,5`` beside ``1,234`` is refused).
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime

import pandas as pd

from synth_pipeline.errors import ConfigError, InvalidDataError

ISO_8601 = "ISO8601"
_DATE_PARTS = [
    "%d/%m/%Y", "%m/%d/%Y", "%d/%m/%y", "%m/%d/%y",
    "%d.%m.%Y", "%d.%m.%y", "%d-%m-%Y", "%m-%d-%Y",
    "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d-%b-%y",
]  # fmt: skip
#: the formats a text column is tried with: ISO 8601 (with or without a time), then day/month orders
DATE_FORMATS = [ISO_8601] + [part + time for part in _DATE_PARTS for time in ("", " %H:%M", " %H:%M:%S")]
_SAMPLE = 200
_MAX_DATE_LENGTH = 40
_GROUPED_NUMBER = re.compile(r"^[+-]?([1-9]\d{0,2}(,\d{3})+|\d+)(\.\d+)?$")
_NUMBER_LIKE = re.compile(r"^[+-]?[\d.,]*\d[\d.,]*$")


def _describe(fmt: str) -> str:
    return "ISO 8601" if fmt == ISO_8601 else fmt


def parse_dates(text: pd.Series, fmt: str) -> pd.Series:
    """``text`` parsed with the one format ``fmt`` (NaT where a value does not fit), as naive UTC times."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt == ISO_8601:
            parsed = pd.to_datetime(text, errors="coerce", format=ISO_8601, utc=True)
            return parsed.dt.tz_localize(None)
        return pd.to_datetime(text, errors="coerce", format=fmt)


def check_date_format(fmt: str, *, setting: str) -> str:
    """``fmt`` if it is ``ISO8601`` or a strftime format that reads back what it writes, else ConfigError."""
    if fmt == ISO_8601:
        return fmt
    if "%" not in fmt:
        raise ConfigError(f"{setting}: {fmt!r} is not a date format; use strftime codes such as '%d/%m/%Y' or ISO8601")
    moment = datetime(2001, 2, 3, 4, 5, 6)
    try:
        datetime.strptime(moment.strftime(fmt), fmt)
    except ValueError as error:
        raise ConfigError(f"{setting}: date format {fmt!r} cannot be read back ({error})") from None
    return fmt


def date_format_of(text: pd.Series, name: str) -> str | None:
    """The one date format that explains every value of ``text`` (strings, no missing), or None when it is no date.

    Raises InvalidDataError, naming the column and the formats seen, when every value is a
    date but no single format explains them all (mixed formats) or two formats explain them
    all with different dates (day and month order cannot be told apart).

    >>> date_format_of(pd.Series(["31/01/2020", "01/02/2020"]), "when")
    '%d/%m/%Y'
    """
    distinct = pd.Series(text.unique(), dtype=object)
    if not len(distinct) or distinct.str.len().max() > _MAX_DATE_LENGTH or not distinct.str.contains(r"\d").all():
        return None
    sample = distinct.head(_SAMPLE)
    candidates = [fmt for fmt in DATE_FORMATS if parse_dates(sample, fmt).notna().any()]
    if not candidates or not _explained(sample, candidates).all():
        return None
    parsed = {fmt: parse_dates(distinct, fmt) for fmt in candidates}
    complete = [fmt for fmt in candidates if parsed[fmt].notna().all()]
    if complete:
        first = parsed[complete[0]]
        differing = [fmt for fmt in complete[1:] if not parsed[fmt].equals(first)]
        if differing:
            raise InvalidDataError(
                f"column {name!r} holds dates that read as {_describe(complete[0])} and as "
                f"{_describe(differing[0])} with different days; declare its format, e.g. "
                f"columns: {{{name}: {{kind: datetime, format: {complete[0]!r}}}}}"
            )
        return complete[0]
    explaining = pd.concat([parsed[fmt].notna() for fmt in candidates], axis=1, keys=candidates)
    if not explaining.any(axis=1).all():
        return None
    # the formats seen: each one that explains a value no format before it explains
    first_fit = explaining.idxmax(axis=1)
    seen = [fmt for fmt in candidates if (first_fit == fmt).any()]
    counts = first_fit.value_counts()
    described = ", ".join(f"{_describe(fmt)} ({counts[fmt]} distinct values)" for fmt in seen)
    raise InvalidDataError(
        f"column {name!r} mixes date formats: {described}; no one format explains all its values, and a guess "
        "per value would swap days and months. Write the column in one format, or declare its format and fix the "
        f"values that do not fit it: columns: {{{name}: {{kind: datetime, format: {seen[-1]!r}}}}}"
    )


def _explained(values: pd.Series, formats: list[str]) -> pd.Series:
    return pd.concat([parse_dates(values, fmt).notna() for fmt in formats], axis=1).any(axis=1)


def grouped_numbers(text: pd.Series, name: str) -> pd.Series | None:
    """Numbers from text written with ``,`` thousands separators (``3,024,129``), or None when it is no such column.

    ``text``: stripped strings, no missing. Raises InvalidDataError when every value looks
    like a number but they are not written one way (``1,234`` beside ``1,5``).

    >>> grouped_numbers(pd.Series(["3,024,129", "12"]), "n").tolist()
    [3024129, 12]
    """
    if not len(text) or not text.str.contains(",", regex=False).any():
        return None
    if text.str.match(_GROUPED_NUMBER).all():
        return pd.to_numeric(text.str.replace(",", "", regex=False))
    if text.str.match(_NUMBER_LIKE).all():
        odd = text[~text.str.match(_GROUPED_NUMBER)]
        raise InvalidDataError(
            f"column {name!r} holds numbers written in more than one way ({len(odd)} of {len(text)} values are not "
            "whole or decimal numbers with ',' thousands separators, such as 3,024,129.5); write them one way, or "
            f"declare the column as labels: columns: {{{name}: categorical}}"
        )
    return None


__all__ = ["DATE_FORMATS", "ISO_8601", "check_date_format", "date_format_of", "grouped_numbers", "parse_dates"]
