"""A simulated rental-listings table with a free-text title that depends on the row's categories.

For tests and demos of free-text columns (kind ``text``) without outside data:
property type, neighbourhood, bedrooms and price, and a title written from a
few templates whose words follow the property type and the neighbourhood (a
"Spacious family house near the park in Riverside"). Every title also carries
rare tokens, a host's name and a number that few rows share (the kind of token
a text model must never reproduce), and a small share of titles is missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth_pipeline.errors import ConfigError

_TYPES = {"flat": 0.5, "house": 0.3, "room": 0.2}
_AREAS = ["Riverside", "Old Town", "Hillview", "Harbour", "University"]
_ADJECTIVES = {
    "flat": ["Bright", "Modern", "Cosy", "Stylish", "Sunny"],
    "house": ["Spacious", "Charming", "Detached", "Family", "Large"],
    "room": ["Quiet", "Small", "Cheap", "Furnished", "Private"],
}
_NEAR = {
    "Riverside": ["the river", "the boat club"],
    "Old Town": ["the cathedral", "the market square"],
    "Hillview": ["the park", "the golf course"],
    "Harbour": ["the beach", "the ferry"],
    "University": ["campus", "the library"],
}
_EXTRAS = {"flat": "with balcony", "house": "with garden", "room": "for students"}
_FIRST_NAMES = ("Anna", "Ben", "Carla", "Dev", "Eli", "Femi", "Gus", "Hana")
_SYLLABLES = ("ka", "lo", "mir", "dan", "vek", "su", "tor", "bel", "quin", "ra", "zo", "fen")


def simulate_listings(n_rows: int = 2000, *, random_state: int | None = 0) -> pd.DataFrame:
    """``n_rows`` listings: ``property_type``, ``neighbourhood``, ``bedrooms``, ``price`` and a free-text ``title``.

    The same seed gives the same table.
    """
    if not isinstance(n_rows, (int, np.integer)) or n_rows <= 0:
        raise ConfigError(f"n_rows must be a positive integer, got {n_rows!r}")
    rng = np.random.default_rng(random_state)
    types = rng.choice(list(_TYPES), n_rows, p=list(_TYPES.values()))
    areas = rng.choice(_AREAS, n_rows, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    bedrooms = np.where(types == "room", 1, np.where(types == "house", rng.integers(2, 6, n_rows),
                                                     rng.integers(1, 4, n_rows)))
    price = np.round(rng.gamma(8.0, 6.0, n_rows) * (1 + 0.35 * bedrooms) + np.where(areas == "Old Town", 40, 0))
    # surnames from a pool the table's size: each held by a row or two, a rare token
    surnames = ["".join(rng.choice(_SYLLABLES, 3)).capitalize() + str(i % 7) * (i % 2) for i in range(n_rows)]
    hosts = [f"{rng.choice(_FIRST_NAMES)} {rng.choice(surnames)}" for _ in range(n_rows)]
    titles = [_title(t, a, int(b), h, rng) for t, a, b, h in zip(types, areas, bedrooms, hosts, strict=True)]
    table = pd.DataFrame(
        {"property_type": types, "neighbourhood": areas, "bedrooms": bedrooms, "price": price, "title": titles}
    )
    table.loc[rng.random(n_rows) < 0.02, "title"] = None
    return table


def _title(kind: str, area: str, bedrooms: int, host: str, rng: np.random.Generator) -> str:
    adjective = rng.choice(_ADJECTIVES[kind])
    near = rng.choice(_NEAR[area])
    size = f"{bedrooms} bedroom " if kind != "room" else ""
    code = int(rng.integers(100, 100_000))
    template = int(rng.integers(3))
    if template == 0:
        return f"{adjective} {size}{kind} in {area} near {near}, {_EXTRAS[kind]} - ask {host} #{code}"
    if template == 1:
        return f"{adjective} {kind} {_EXTRAS[kind]} close to {near} ({area}), host {host}, ref {code}"
    return f"{area}: {adjective.lower()} {size}{kind} near {near}. Contact {host} {code}"
