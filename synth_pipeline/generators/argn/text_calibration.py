"""Token-frequency calibration of a trained text model: drawn word frequencies brought to training's.

A trained word model writes its frequent words a little too rarely or too often, and rows it never saw make it
vaguer (it falls back on shape placeholders); :func:`calibrate_token_bias` sets the model's per-token output
bias (``TextNetwork.token_bias``, saved with its weights) from texts it writes against real ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from synth_pipeline.generators.argn.text_model import PAD, TextNetwork, sample_tokens
from synth_pipeline.generators.argn.text_rules import TokenRules

#: rounds of writing and shifting, and the least expected count of drawn tokens a band needs
CALIBRATION_ROUNDS = 3
CALIBRATION_MIN_COUNT = 30


def calibrate_token_bias(
    network: TextNetwork,
    codes: np.ndarray,
    lengths: np.ndarray,
    targets: np.ndarray,
    *,
    generator: torch.Generator,
    rules: TokenRules | None,
    top_p: float,
    rounds: int = CALIBRATION_ROUNDS,
) -> dict[str, Any]:
    """Set ``network.token_bias`` so that sampling draws each token about as often as training has it.

    A trained model writes its frequent words a little too rarely or too often (each draw conditions on the
    words it drew before, not on real ones; the nucleus cuts the tail; rows it never saw make it vaguer):
    texts of ``lengths`` tokens are written for the rows ``codes`` (as sampling does, at temperature 1 with
    the same rules and nucleus; the generator passes rows its table model drew, so that calibration sees the
    contexts sampling will), and each token's bias moves by the log ratio of its share among the real texts
    ``targets`` (training's, any rows) to its share among the drawn ones, by the part of that ratio beyond
    counting noise (:func:`_beyond_noise`), at most ±2 per round. A token with fewer than
    :data:`CALIBRATION_MIN_COUNT` expected draws moves with its *band*: consecutive tokens in the model's
    frequency order, pooled until they reach it, so the long tail moves as a whole where no single word of
    it can. Only tokens of the vocabulary (seen in at least *k* rows) move, so nothing rarer is learned.
    Returns the token shares' total variation distance before and after.
    """
    real = _position_counts(network, targets)
    scale = float(lengths.sum()) / max(real.sum(), 1.0)  # real counts -> the drawn texts' number of tokens
    bands = _calibration_bands(real * scale)
    real_band = np.bincount(bands, real)
    distances = []
    for round_ in range(rounds + 1):
        drawn = _position_counts(network, sample_tokens(network, codes, lengths, temperature=1.0,
                                                        generator=generator, rules=rules, top_p=top_p))
        distances.append(0.5 * float(np.abs(real / max(real.sum(), 1.0) - drawn / max(drawn.sum(), 1.0)).sum()))
        if round_ == rounds:
            break
        drawn_band = np.bincount(bands, drawn)
        ratio = np.log((real_band * scale + 1.0) / (drawn_band + 1.0))
        step = np.clip(ratio * _beyond_noise(ratio, real_band, drawn_band), -2.0, 2.0)[bands]
        network.token_bias += torch.as_tensor(step, dtype=network.token_bias.dtype)
    return {"calibration_rows": len(codes), "token_tvd_before": distances[0], "token_tvd_after": distances[-1]}


def _calibration_bands(expected: np.ndarray) -> np.ndarray:
    """Per output position, its band: its own when its ``expected`` count is :data:`CALIBRATION_MIN_COUNT` or
    more, else a run of such rarer positions pooled to that count.

    Runs follow the output positions, which are the model's frequency order over all training texts (not these
    rows' counts, which would group tokens by their own noise) when the vocabulary has the adaptive split,
    else the token ids.
    """
    bands = np.empty(len(expected), dtype=np.int64)
    next_band, open_band, pooled = 0, -1, 0.0
    for position, count in enumerate(expected):
        if count >= CALIBRATION_MIN_COUNT:
            bands[position], next_band = next_band, next_band + 1
            continue
        if open_band < 0:
            open_band, next_band = next_band, next_band + 1
        bands[position] = open_band
        pooled += count
        if pooled >= CALIBRATION_MIN_COUNT:
            open_band, pooled = -1, 0.0
    return bands


def _beyond_noise(ratio: np.ndarray, real: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """Per band, the share of its log ratio to move: ``max(0, 1 - noise / ratio²)`` (positive-part James-Stein),
    ``noise`` the variance of the log ratio of two Poisson counts (``1/real + 1/drawn``, the counts unscaled)."""
    noise = 1.0 / (real + 1.0) + 1.0 / (drawn + 1.0)
    gap = ratio**2
    return np.where(gap > noise, 1.0 - noise / np.maximum(gap, 1e-300), 0.0)


def _position_counts(network: TextNetwork, token_ids: np.ndarray) -> np.ndarray:
    """How often each output position's token occurs among ``token_ids`` (padding not counted)."""
    positions = network.output_positions(torch.as_tensor(token_ids[token_ids != PAD]))
    return np.bincount(positions.numpy(), minlength=network.vocabulary_size).astype(np.float64)
