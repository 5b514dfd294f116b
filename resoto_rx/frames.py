"""Building DataFrames with the dtypes the whole package uses: UTC datetimes, float durations, categories."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def typed_frame(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    times: Iterable[str] = (),
    floats: Iterable[str] = (),
    categories: Iterable[str] = (),
) -> pd.DataFrame:
    """``rows`` as a DataFrame with exactly ``columns`` (also when empty): ``times`` as UTC datetimes,
    ``floats`` as float64 (None becomes NaN) and ``categories`` as categories."""
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=list(columns))
    for column in times:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    for column in floats:
        frame[column] = frame[column].astype("float64")
    return as_categories(frame, categories)


def as_categories(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """``frame`` with the given columns (those present) as categories; returns the same frame."""
    import pandas as pd

    for column in columns:
        if column in frame.columns and not isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype("category")
    return frame
