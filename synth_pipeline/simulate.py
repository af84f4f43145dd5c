"""Tables from a declared spec: marginals, correlations, a logistic label, missing values.

Used as the demo source (so a fresh clone runs end to end without outside
data), in tests, and to try a pipeline before real data exists. Columns are
drawn through a Gaussian copula: correlated standard normals are pushed
through each column's marginal (categories in the order they are declared,
so a positive correlation pairs later categories with larger numbers). The
label follows a logistic model on the standardized numbers and 0/1 category
indicators; missing values are then removed completely at random.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import stats

from synth_pipeline.errors import ConfigError


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NumericColumn(_Spec):
    kind: Literal["numeric"] = "numeric"
    distribution: Literal["normal", "lognormal", "uniform", "gamma"] = "normal"
    mean: float = 0.0
    std: float = Field(1.0, gt=0)
    low: float = 0.0
    high: float = 1.0
    shape: float = Field(2.0, gt=0, description="gamma shape; scale is mean / shape")
    integer: bool = False
    decimals: int | None = Field(None, ge=0, description="round to this many decimals")
    clip_min: float | None = None
    clip_max: float | None = None

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        if self.distribution == "normal":
            values = stats.norm.ppf(u, loc=self.mean, scale=self.std)
        elif self.distribution == "lognormal":
            values = np.exp(stats.norm.ppf(u, loc=self.mean, scale=self.std))
        elif self.distribution == "uniform":
            values = self.low + u * (self.high - self.low)
        else:
            values = stats.gamma.ppf(u, a=self.shape, scale=self.mean / self.shape)
        values = (
            np.clip(values, self.clip_min, self.clip_max) if (self.clip_min, self.clip_max) != (None, None) else values
        )
        if self.integer:
            return np.round(values).astype(np.int64)
        return np.round(values, self.decimals) if self.decimals is not None else values


class CategoricalColumn(_Spec):
    kind: Literal["categorical"] = "categorical"
    shares: dict[str, float] = Field(description="category -> share (normalized to sum 1)")

    @model_validator(mode="after")
    def _positive(self) -> CategoricalColumn:
        if not self.shares or any(v < 0 for v in self.shares.values()) or sum(self.shares.values()) <= 0:
            raise ValueError("shares must be non-negative and not all zero")
        return self

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        names = np.array(list(self.shares), dtype=object)
        cumulative = np.cumsum(list(self.shares.values()))
        cumulative = cumulative / cumulative[-1]
        return names[np.minimum(np.searchsorted(cumulative, u, side="right"), len(names) - 1)]


class BooleanColumn(_Spec):
    kind: Literal["boolean"] = "boolean"
    p_true: float = Field(0.5, ge=0, le=1)

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        return u >= 1 - self.p_true


class DatetimeColumn(_Spec):
    kind: Literal["datetime"] = "datetime"
    start: str
    end: str
    unit: Literal["D", "s"] = Field("D", description="D: dates, s: timestamps to the second")

    def from_uniform(self, u: np.ndarray) -> np.ndarray:
        start, end = pd.Timestamp(self.start), pd.Timestamp(self.end)
        seconds = start.value / 1e9 + u * (end.value - start.value) / 1e9
        stamps = pd.to_datetime(np.round(seconds), unit="s")
        return (stamps.floor("D") if self.unit == "D" else stamps).to_numpy()


class IdColumn(_Spec):
    kind: Literal["id"] = "id"
    prefix: str = "ID"
    width: int = Field(6, ge=1)


ColumnSpec = Annotated[
    Union[NumericColumn, CategoricalColumn, BooleanColumn, DatetimeColumn, IdColumn], Field(discriminator="kind")
]


class Correlation(_Spec):
    a: str
    b: str
    rho: float = Field(ge=-1, le=1)


class LabelSpec(_Spec):
    name: str
    intercept: float = 0.0
    coefficients: dict[str, float] = Field(
        default_factory=dict,
        description="'column' (a standardized number) or 'column=value' (a 0/1 indicator) -> coefficient",
    )
    values: tuple[str, str] = ("No", "Yes")


class TableSpec(_Spec):
    columns: dict[str, ColumnSpec]
    correlations: list[Correlation] = Field(default_factory=list)
    label: LabelSpec | None = None
    missing: dict[str, float] = Field(default_factory=dict, description="column -> share of missing cells")

    @model_validator(mode="after")
    def _names(self) -> TableSpec:
        known = set(self.columns)
        for c in self.correlations:
            for name in (c.a, c.b):
                if name not in known:
                    raise ValueError(f"correlation names unknown column {name!r}")
        for name, rate in self.missing.items():
            if name not in known | ({self.label.name} if self.label else set()):
                raise ValueError(f"missing names unknown column {name!r}")
            if not 0 <= rate < 1:
                raise ValueError(f"missing share of {name!r} must be in [0, 1)")
        if self.label:
            for term in self.label.coefficients:
                if term.split("=", 1)[0] not in known:
                    raise ValueError(f"label coefficient names unknown column {term.split('=', 1)[0]!r}")
        return self


def _correlation_matrix(spec: TableSpec, names: list[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(names)}
    matrix = np.eye(len(names))
    for c in spec.correlations:
        matrix[index[c.a], index[c.b]] = matrix[index[c.b], index[c.a]] = c.rho
    values, vectors = np.linalg.eigh(matrix)
    if values.min() < 1e-6:  # declared correlations need not be consistent: take the nearest valid matrix
        matrix = vectors @ np.diag(np.clip(values, 1e-6, None)) @ vectors.T
        scale = np.sqrt(np.diag(matrix))
        matrix = matrix / np.outer(scale, scale)
    return matrix


def simulate(spec: TableSpec | dict, n_rows: int, *, random_state: int | None = 0) -> pd.DataFrame:
    """Draw ``n_rows`` rows following ``spec``; the same seed gives the same table."""
    if isinstance(spec, dict):
        spec = TableSpec.model_validate(spec)
    if not isinstance(n_rows, (int, np.integer)) or n_rows <= 0:
        raise ConfigError(f"n_rows must be a positive integer, got {n_rows!r}")
    rng = np.random.default_rng(random_state)
    latent_names = [n for n, c in spec.columns.items() if not isinstance(c, IdColumn)]
    latent = rng.multivariate_normal(np.zeros(len(latent_names)), _correlation_matrix(spec, latent_names), size=n_rows)
    u = np.clip(stats.norm.cdf(latent), 1e-9, 1 - 1e-9)
    data: dict[str, object] = {}
    for name, column in spec.columns.items():
        if isinstance(column, IdColumn):
            data[name] = [f"{column.prefix}{i:0{column.width}d}" for i in range(1, n_rows + 1)]
        else:
            data[name] = column.from_uniform(u[:, latent_names.index(name)])
    table = pd.DataFrame(data)
    if spec.label is not None:
        logit = np.full(n_rows, spec.label.intercept)
        for term, coefficient in spec.label.coefficients.items():
            name, _, value = term.partition("=")
            if value:
                x = (table[name].astype(str) == value).to_numpy(dtype=float)
            else:
                numbers = pd.to_numeric(table[name]).to_numpy(dtype=float)
                x = (numbers - numbers.mean()) / (numbers.std() or 1.0)
            logit += coefficient * x
        positive = rng.random(n_rows) < 1 / (1 + np.exp(-logit))
        table[spec.label.name] = np.where(positive, spec.label.values[1], spec.label.values[0])
    for name, rate in spec.missing.items():
        mask = rng.random(n_rows) < rate
        column = table[name].astype("float64" if pd.api.types.is_integer_dtype(table[name]) else table[name].dtype)
        table[name] = column.mask(mask)
    return table


#: The textbook telecom customer-churn table: contracts, tenure, charges, churn (a :class:`TableSpec` as data).
CHURN_SPEC: dict = {
    "columns": {
        "customer_id": {"kind": "id", "prefix": "C", "width": 6},
        "gender": {"kind": "categorical", "shares": {"Female": 0.5, "Male": 0.5}},
        "senior_citizen": {"kind": "boolean", "p_true": 0.16},
        "partner": {"kind": "categorical", "shares": {"No": 0.52, "Yes": 0.48}},
        "tenure_months": {"kind": "numeric", "distribution": "uniform", "low": 0, "high": 72, "integer": True},
        "contract": {
            "kind": "categorical",
            "shares": {"Month-to-month": 0.55, "One year": 0.21, "Two year": 0.24},
        },
        "internet_service": {"kind": "categorical", "shares": {"No": 0.22, "DSL": 0.34, "Fiber optic": 0.44}},
        "payment_method": {
            "kind": "categorical",
            "shares": {
                "Mailed check": 0.23,
                "Electronic check": 0.34,
                "Bank transfer": 0.22,
                "Credit card": 0.21,
            },
        },
        "monthly_charges": {
            "kind": "numeric",
            "distribution": "normal",
            "mean": 65,
            "std": 30,
            "clip_min": 18.25,
            "clip_max": 118.75,
            "decimals": 2,
        },
        "support_calls": {
            "kind": "numeric",
            "distribution": "gamma",
            "mean": 1.5,
            "shape": 1.2,
            "integer": True,
        },
        "signup_date": {"kind": "datetime", "start": "2018-01-01", "end": "2024-12-31"},
    },
    "correlations": [
        {"a": "tenure_months", "b": "contract", "rho": 0.65},
        {"a": "tenure_months", "b": "partner", "rho": 0.35},
        {"a": "tenure_months", "b": "signup_date", "rho": -0.9},
        {"a": "monthly_charges", "b": "internet_service", "rho": 0.8},
        {"a": "senior_citizen", "b": "internet_service", "rho": 0.2},
        {"a": "support_calls", "b": "internet_service", "rho": 0.3},
        {"a": "payment_method", "b": "contract", "rho": -0.3},
    ],
    "label": {
        "name": "churn",
        "intercept": -1.6,
        "coefficients": {
            "tenure_months": -0.9,
            "monthly_charges": 0.5,
            "contract=Month-to-month": 1.1,
            "internet_service=Fiber optic": 0.5,
            "payment_method=Electronic check": 0.6,
            "support_calls": 0.4,
            "senior_citizen": 0.2,
        },
    },
    "missing": {"monthly_charges": 0.02, "payment_method": 0.03, "support_calls": 0.05},
}


def churn_spec() -> TableSpec:
    """The textbook telecom customer-churn table: contracts, tenure, charges, churn."""
    return TableSpec.model_validate(CHURN_SPEC)


def simulate_churn(n_rows: int = 5000, *, random_state: int | None = 0) -> pd.DataFrame:
    """The demo table: :func:`churn_spec` simulated with ``n_rows`` rows."""
    return simulate(churn_spec(), n_rows, random_state=random_state)


def simulate_race_splits(n_rows: int = 2700, *, random_state: int | None = 0) -> pd.DataFrame:
    """A small table of nearly proportional numbers: one runner per row, nine per-segment times in seconds.

    A runner's pace (log-normal, slower with age and for one sex) times each segment's
    length, with a fade that grows towards the end for slower runners and a few per cent
    of per-segment noise, so the nine times correlate pairwise above 0.9; finish time is
    their sum. Shaped like the small, strongly correlated tables where argn was weakest.
    """
    if n_rows <= 0:
        raise ConfigError(f"n_rows must be a positive integer, got {n_rows!r}")
    rng = np.random.default_rng(random_state)
    sex = rng.choice(np.array(["F", "M"], dtype=object), n_rows, p=[0.42, 0.58])
    age = np.clip(np.round(rng.normal(40, 11, n_rows)), 18, 80).astype(np.int64)
    division = np.array([f"{'F' if s == 'F' else 'M'}{min(a // 10 * 10, 70)}" for s, a in zip(sex, age, strict=True)],
                        dtype=object)
    countries = np.array(["USA", "CAN", "GBR", "MEX", "GER", "JPN", "KEN", "FRA", "ITA", "BRA", "AUS", "ESP"],
                         dtype=object)
    country = countries[np.minimum(rng.zipf(1.6, n_rows) - 1, len(countries) - 1)]
    log_pace = np.log(300.0) + 0.18 * rng.standard_normal(n_rows) + 0.004 * (age - 40) + 0.08 * (sex == "F")
    pace = np.exp(log_pace)  # seconds per km
    lengths = np.array([5.0, 5.0, 5.0, 5.0, 1.0975, 3.9025, 5.0, 5.0, 5.0, 2.195])[[0, 1, 2, 3, 5, 6, 7, 8, 9]]
    fade_strength = np.clip((pace - 240.0) / 600.0, 0.0, None) * rng.gamma(2.0, 0.5, n_rows)
    fade = 1.0 + fade_strength[:, None] * np.linspace(0.0, 1.0, len(lengths))[None, :] ** 2
    noise = np.exp(0.025 * rng.standard_normal((n_rows, len(lengths))))
    splits = np.round(pace[:, None] * lengths[None, :] * fade * noise).astype(np.int64)
    table = pd.DataFrame({"sex": sex, "age": age, "division": division, "country": country})
    for j in range(len(lengths)):
        table[f"split_{j + 1}"] = splits[:, j]
    table["finish_seconds"] = splits.sum(axis=1)
    return table


def simulate_listings(n_rows: int = 3000, *, random_state: int | None = 0) -> pd.DataFrame:
    """A small table with high-cardinality text-like columns: rental listings.

    Street names and host names follow Zipf-like frequencies over hundreds of values
    (many seen a handful of times), the neighbourhood follows from the street, and
    price, size and rooms correlate with each other and with the neighbourhood. Shaped
    like the high-cardinality tables where argn's DCR share was highest.
    """
    if n_rows <= 0:
        raise ConfigError(f"n_rows must be a positive integer, got {n_rows!r}")
    rng = np.random.default_rng(random_state)
    n_streets, n_neighbourhoods, n_hosts = 400, 40, 900
    # the town first (the same for every n_rows of one seed), then the listings
    neighbourhood_of_street = rng.integers(0, n_neighbourhoods, n_streets)
    neighbourhood_level = rng.normal(0.0, 0.35, n_neighbourhoods)
    street_names = np.array([f"{i:03d} {s} Street" for i, s in enumerate(_street_words(n_streets, rng))], dtype=object)
    street_weights = 1.0 / np.arange(1, n_streets + 1) ** 0.9
    street = rng.choice(n_streets, n_rows, p=street_weights / street_weights.sum())
    neighbourhood = neighbourhood_of_street[street]
    host_weights = 1.0 / np.arange(1, n_hosts + 1) ** 1.1
    host = rng.choice(n_hosts, n_rows, p=host_weights / host_weights.sum())
    level = neighbourhood_level[neighbourhood]
    room_type = rng.choice(np.array(["Entire home", "Private room", "Shared room"], dtype=object), n_rows,
                           p=[0.6, 0.35, 0.05])
    rooms = np.clip(np.round(rng.gamma(2.2, 0.9, n_rows) + (room_type == "Entire home")), 1, 8).astype(np.int64)
    area = np.round(np.exp(np.log(22.0) + 0.85 * np.log(rooms) + 0.15 * rng.standard_normal(n_rows)))
    base = np.exp(3.4 + level + 0.55 * np.log(area) - 0.5 * (room_type != "Entire home")
                  + 0.2 * rng.standard_normal(n_rows))
    price = np.round(base / 5.0) * 5.0
    reviews = rng.negative_binomial(1.2, 0.05, n_rows)
    return pd.DataFrame({
        "street": street_names[street],
        "neighbourhood": np.array([f"District {i + 1}" for i in range(n_neighbourhoods)], dtype=object)[neighbourhood],
        "host_name": np.array([f"host {i:04d}" for i in range(n_hosts)], dtype=object)[host],
        "room_type": room_type,
        "rooms": rooms,
        "area_m2": area,
        "price": price,
        "reviews": reviews,
    })


def _street_words(n: int, rng: np.random.Generator) -> list[str]:
    syllables = ["ash", "bel", "cor", "dun", "elm", "fair", "glen", "har", "ivy", "kings", "lark", "mill",
                 "north", "oak", "pine", "quarry", "ridge", "stone", "thorn", "vale", "west", "wood"]
    return [(rng.choice(syllables) + rng.choice(syllables)).capitalize() for _ in range(n)]
