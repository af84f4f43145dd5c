"""Reversible encodings of table columns into discrete sub-columns, one module per column kind.

Every model column becomes one or two integer *sub-columns*; the network
predicts codes, never raw values. :data:`.kinds.ENCODERS` maps each column kind to its
encoder class:

* :mod:`.categorical`: categorical and boolean columns (rare values pooled, never drawn);
* :mod:`.number`: numeric and integer columns (exact atoms, quantile bins, slices within a bin);
* :mod:`.datetime`: datetimes as whole days or seconds on the number encoder;
* :mod:`.spikes`: which values of a wide number column stay exact atoms beyond the heaviest;
* :mod:`.rounding`: the "round number" sub-column of number columns (setting ``round_numbers``);
* :mod:`.references`: "equal to an earlier column" codes of number columns;
* :mod:`.offsets`, :mod:`.changes`, :mod:`.relations`: numbers coded relative to an earlier column (ratio
  offsets replace a column's bins; a change sub-column, setting ``number_changes``, adds to them);
* :mod:`.kinds`: the kind -> encoder table;
* :mod:`.table`: :class:`TableEncoder`, all columns of a table in order.

Missing values are code 0 of the first sub-column, present only when the column
had missing values in training. A new column kind is one module with a
:class:`ColumnEncoder` subclass and one entry in :data:`.kinds.ENCODERS`.
"""

from synth_pipeline.generators.argn.encoders.base import ColumnEncoder, EncoderSettings, SubColumn
from synth_pipeline.generators.argn.encoders.categorical import RARE_LABEL, CategoricalEncoder
from synth_pipeline.generators.argn.encoders.datetime import DatetimeEncoder
from synth_pipeline.generators.argn.encoders.kinds import ENCODERS, encoder_from_state, fit_column
from synth_pipeline.generators.argn.encoders.number import NumberEncoder
from synth_pipeline.generators.argn.encoders.references import Equality
from synth_pipeline.generators.argn.encoders.table import TableEncoder

__all__ = [
    "ENCODERS",
    "RARE_LABEL",
    "CategoricalEncoder",
    "ColumnEncoder",
    "DatetimeEncoder",
    "EncoderSettings",
    "Equality",
    "NumberEncoder",
    "SubColumn",
    "TableEncoder",
    "encoder_from_state",
    "fit_column",
]
