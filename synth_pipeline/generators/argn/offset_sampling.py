"""Sampling with offset codes (see :mod:`.encoders.offsets`): a value whose reference is present is an offset.

In training, a number whose offset reference comes before it is coded by the offset's bins
unless it is missing, equal to a reference or an exact atom; its own bins (and light atoms)
appear only where the reference is missing or comes later. Sampling always has the reference
before the value, so those codes are forbidden wherever the reference came out present: a small
leak of probability onto them would cut the value loose from its reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from synth_pipeline.generators.argn.encoders import NumberEncoder, TableEncoder


@dataclass(frozen=True)
class ReplacedCodes:
    """A column's codes that its offset replaces, and its reference's first sub-column and missing code."""

    codes: list[int]
    reference_sub: int
    reference_missing: int | None


def offset_replaced_codes(encoder: TableEncoder) -> dict[int, ReplacedCodes]:
    """Per column with an offset: the codes sampling must not draw where its reference is present."""
    out: dict[int, ReplacedCodes] = {}
    for c, column in enumerate(encoder.encoders):
        if not isinstance(column, NumberEncoder) or column.offset is None:
            continue
        r = encoder.reference_columns[c][-1]
        out[c] = ReplacedCodes(
            column.codes_offset_replaces(), int(encoder.first_sub[r]), encoder.encoders[r].missing_code
        )
    return out


def forbid_replaced_codes(logits: torch.Tensor, codes: torch.Tensor, replaced: ReplacedCodes | None) -> None:
    """Forbid ``replaced``'s codes in the rows (of ``codes``) whose reference is present."""
    if replaced is None or not replaced.codes:
        return
    present = torch.ones(len(codes), dtype=torch.bool)
    if replaced.reference_missing is not None:
        present = codes[:, replaced.reference_sub] != replaced.reference_missing
    rows = torch.nonzero(present).squeeze(1)
    if len(rows):
        columns = torch.as_tensor(replaced.codes)
        logits[rows[:, None], columns[None, :]] = -torch.inf
