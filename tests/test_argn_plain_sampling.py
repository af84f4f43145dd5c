"""argn's plain sampling through first-layer lookup tables: the network's own logits, and a fair draw."""

from __future__ import annotations

import numpy as np
import torch

from synth_pipeline.generators.argn.model import ARGNNetwork
from synth_pipeline.generators.argn.plain_sampling import first_layer_tables, set_code, table_logits, table_rows
from synth_pipeline.generators.argn.sampling import INVERSE_DRAW_MIN_CODES, draw


def test_table_logits_are_the_networks_prefix_logits() -> None:
    cardinalities = [3, 64, 8, 2, 500, 17]
    network = ARGNNetwork(cardinalities, embedding_dim=4, hidden_size=16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # trained weights are not zero: make every term count
        for parameter in (network.absent, network.b1, *network.b2):
            parameter.normal_(generator=torch.Generator().manual_seed(1))
    m, width = 300, network.embedding_dim
    codes = torch.stack([torch.randint(0, c, (m,), generator=torch.Generator().manual_seed(c)) for c in cardinalities],
                        dim=1)
    embedded = network.embed(codes).reshape(m, -1).detach()
    tables, rows = first_layer_tables(network), table_rows(network, m)
    with torch.no_grad():
        for t, cardinality in enumerate(cardinalities):
            visible = embedded * (torch.arange(embedded.shape[1]) < t * width)
            expected = network.prefix_logits(visible, t)
            got = table_logits(network, tables, rows, t)
            assert got.shape == (m, cardinality)
            assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4), t
            set_code(network, rows, t, codes[:, t])


def test_tables_and_logits_do_not_depend_on_the_thread_count() -> None:
    """Two threads rounded the tables' batched product differently (a 10M-row snapshot differed by engine)."""
    cardinalities = [7, 120, 33, 2, 500, 64, 9, 300]
    network = ARGNNetwork(cardinalities, embedding_dim=16, hidden_size=64, generator=torch.Generator().manual_seed(0))
    m = 4096
    codes = torch.stack([torch.randint(0, c, (m,), generator=torch.Generator().manual_seed(c)) for c in cardinalities],
                        dim=1)
    found = []
    previous = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            tables, rows = first_layer_tables(network), table_rows(network, m)
            logits = []
            for t in range(len(cardinalities)):
                logits.append(table_logits(network, tables, rows, t))
                set_code(network, rows, t, codes[:, t])
            found.append((tables, logits))
    finally:
        torch.set_num_threads(previous)
    assert torch.get_num_threads() == previous
    assert torch.equal(found[0][0], found[1][0])
    assert all(torch.equal(a, b) for a, b in zip(found[0][1], found[1][1], strict=True))


def test_inverse_draw_follows_the_probabilities_and_never_draws_a_forbidden_code() -> None:
    n_codes, m = 3 * INVERSE_DRAW_MIN_CODES, 200_000
    probabilities = torch.rand(n_codes, generator=torch.Generator().manual_seed(0))
    probabilities[[0, 5, n_codes - 1]] = 0.0  # forbidden codes, the last one among them
    probabilities /= probabilities.sum()
    logits = torch.log(probabilities).expand(m, -1).clone()
    drawn = draw(logits, torch.Generator().manual_seed(1)).numpy()
    shares = np.bincount(drawn, minlength=n_codes) / m
    assert shares[[0, 5, n_codes - 1]].sum() == 0
    assert np.abs(shares - probabilities.numpy()).max() < 0.004
    # a row whose whole mass sits on its first code (the threshold can round to the very top)
    spike = torch.full((4, n_codes), -torch.inf)
    spike[:, 0] = 0.0
    assert draw(spike, torch.Generator().manual_seed(2)).tolist() == [0, 0, 0, 0]
