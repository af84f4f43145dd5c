"""Under ``privacy``: each column's first sub-column calibrated to the noisy counts the DP statistics released.

DP-SGD's noise leaves the trained network's marginals a little off (census, ε = 3: a binary
column's share 2 pp away in one seed, where the statistics' noisy count of it is off by
a few rows in 24,000). The statistics already released those counts (a category's, an exact
number's, "missing"'s; the row count is public), so matching the network to them is
post-processing: it reads no row and spends no ε.

After training, the rounds of :mod:`.marginal_calibration` shift each column's first
sub-column's output biases toward its targets (the conditional structure stays). The targets:
a released value's noisy count over the rows; codes without a count of their own (the pooled
rare code, a number's quantile bins) keep their sampled proportions among themselves and share
what the released values leave. Columns with no released vocabulary (datetimes' grids,
references) are left alone.
"""

from __future__ import annotations

import numpy as np
import torch

from synth_pipeline.dp_statistics import PrivateStatistics
from synth_pipeline.generators.argn.encoders.categorical import CategoricalEncoder
from synth_pipeline.generators.argn.encoders.number import NumberEncoder
from synth_pipeline.generators.argn.marginal_calibration import Column, shift_marginals
from synth_pipeline.generators.argn.model import ARGNNetwork


def _released(encoder: object, statistics: PrivateStatistics, n_rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(target shares with NaN for codes without a count of their own, those codes' mask), or None."""
    name = getattr(encoder, "name", None)
    if name is None or not statistics.has_vocabulary(name):
        return None
    vocabulary = statistics.released(name)
    if isinstance(encoder, CategoricalEncoder):
        values = list(encoder.categories)
    elif isinstance(encoder, NumberEncoder):
        values = [float(a) for a in encoder.atoms]
    else:
        return None
    counts = {float(k) if isinstance(encoder, NumberEncoder) else k: c for k, c in vocabulary.counts.items()}
    if any(v not in counts for v in values):  # a value the encoder holds that was not released: leave it be
        return None
    size = encoder.first_cardinality
    target = np.full(size, np.nan)
    offset = int(encoder.has_missing)
    if encoder.has_missing:
        target[0] = max(vocabulary.missing, 0.0) / n_rows
    for i, value in enumerate(values):
        target[offset + i] = max(counts[value], 0.0) / n_rows
    return target, np.isnan(target)


def calibrate_marginals(
    network: ARGNNetwork, table_encoder: object, statistics: PrivateStatistics, n_rows: int,
    generator: torch.Generator,
) -> int:
    """Shift ``network``'s output biases in place toward the released marginals; the number of columns shifted."""
    columns: list[Column] = []
    for c, encoder in enumerate(table_encoder.encoders):
        released = _released(encoder, statistics, n_rows)
        if released is not None:
            columns.append((int(table_encoder.first_sub[c]), *released))
    if not columns:
        return 0
    return shift_marginals(network, table_encoder, columns, generator)
