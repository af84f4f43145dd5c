"""ARGNGenerator: the flagship autoregressive generator (in the family of TabularARGN)."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd
import torch

from synth_pipeline.columns import ColumnKind
from synth_pipeline.errors import ConfigError
from synth_pipeline.generators.argn.encoders import EncoderSettings, TableEncoder
from synth_pipeline.generators.argn.encoders.text import CALIBRATION_ROWS as TEXT_CALIBRATION_ROWS
from synth_pipeline.generators.argn.encoders.text import TextEncoder
from synth_pipeline.generators.argn.marginal_calibration import calibrate_to_training
from synth_pipeline.generators.argn.model import ARGNNetwork
from synth_pipeline.generators.argn.private_calibration import calibrate_marginals
from synth_pipeline.generators.argn.private_training import DP_HIDDEN_SIZE, plan_for, privacy_record, train_private
from synth_pipeline.generators.argn.rare_contexts import rare_condition_strength, value_weights
from synth_pipeline.generators.argn.rare_copula import (
    copula_from_state,
    copula_state,
    fit_rare_copula,
    merge_rows,
    rare_rows,
    rows_of,
)
from synth_pipeline.generators.argn.regularization import decay_factor
from synth_pipeline.generators.argn.sampling import sample_codes
from synth_pipeline.generators.argn.settings import ARGNSettings
from synth_pipeline.generators.argn.training import (
    TrainingPlan,
    budget_text,
    compact_codes,
    default_threads,
    show_progress_default,
    torch_threads,
    train,
)
from synth_pipeline.generators.base import Generator
from synth_pipeline.generators.closeness_guard import MAX_REFERENCE_ROWS, ClosenessGuard, fit_guard
from synth_pipeline.generators.copula import GaussianCopulaGenerator
from synth_pipeline.generators.privacy_budget import PrivacySettings
from synth_pipeline.generators.private_fit import (
    fit_statistics,
    private_schema,
    released_frequencies,
    unlearnable_columns,
)
from synth_pipeline.generators.request import SamplingRequest
from synth_pipeline.protection import all_rare_columns, protection_k
from synth_pipeline.schema import Schema

log = logging.getLogger("synth_pipeline.generators.argn")


class ARGNGenerator(Generator):
    """Autoregressive neural generator: every column becomes discrete sub-columns,
    one small network per sub-column predicts it from those before it.

    Training randomizes the column order (a random subset of columns first, the
    rest in table order), so any set of columns can condition the others:
    seeded sampling, rebalancing and imputation are exact conditional sampling,
    not rejection. Plain sampling uses the table order. See
    :mod:`synth_pipeline.generators.argn.encoders` for how each column kind is
    encoded and how rare values are protected.

    Settings (all keyword-only, defaults meant for tables nobody tuned): see
    :class:`synth_pipeline.generators.argn.settings.ARGNSettings`.
    """

    name: ClassVar[str] = "argn"
    settings_model: ClassVar[type[ARGNSettings]] = ARGNSettings

    # -- settings -----------------------------------------------------------------------
    def _settings(self) -> ARGNSettings:
        settings = cast(ARGNSettings, super()._settings())
        if settings.device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("device='cuda' but no CUDA GPU is available; use device='auto' or 'cpu'")
        return settings

    def _torch_device(self) -> torch.device:
        if self.device == "cuda" or (self.device == "auto" and torch.cuda.is_available()):
            return torch.device("cuda")
        return torch.device("cpu")

    def _threads(self) -> int:
        return int(self.n_threads) if self.n_threads is not None else default_threads()

    # -- fitting --------------------------------------------------------------------------
    def _columns_not_to_learn(self, training: pd.DataFrame, schema: Schema) -> dict[str, str]:
        # A categorical column whose every value is rare has nothing argn may draw (rare values are
        # never generated): it is regenerated as ids instead of being published as a placeholder.
        # Under privacy "rare" is decided by the DP vocabulary, the first of the fit's DP statistics.
        # DP-SGD's plan comes first: a budget too small for it is refused before anything is learned.
        privacy = self._settings().privacy
        self._private_plan = plan_for(self._settings(), len(training)) if privacy is not None else None
        self._statistics = fit_statistics(self._statistics_privacy(), self.random_state, training, schema,
                                          trains_with_sgd=True)
        if self._statistics is None:
            return all_rare_columns(training, schema.names_of(ColumnKind.CATEGORICAL), self._protection_k())
        unlearnable = unlearnable_columns(training, schema, self._statistics)
        # the text model has no differential privacy: under a privacy budget free text is regenerated, and listed
        for name in schema.names_of(ColumnKind.TEXT):
            # (the inferred reason counts values, so under privacy it is not repeated)
            unlearnable[name] = "free text: argn's text model has no differential privacy"
        return unlearnable

    def _statistics_privacy(self) -> PrivacySettings | None:
        """The total budget whose statistics share the statistics are learned under: the model's ``privacy``."""
        return self._settings().privacy

    def _protection_k(self) -> int:
        """The model's rare-value threshold: drawn from the seed above ``rare_category_threshold``."""
        return protection_k(self.random_state, base=self._settings().rare_category_threshold)

    def _train(self, codes: np.ndarray, plain_codes: np.ndarray, plan: TrainingPlan, rng: np.random.Generator) -> Any:
        """Train the network, with DP-SGD under privacy (then ``privacy_`` records what was spent)."""
        private, self.privacy_ = self._private_plan, None
        if private is None:
            report = train(self.network_, codes, self.encoder_.column_of_sub, plan, rng, plain_codes=plain_codes)
            if plan.settings.calibrate_marginals:  # the marginals the autoregressive draws drift from
                calibration = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
                calibrate_to_training(self.network_, self.encoder_, codes, calibration)
            return report
        report, books = train_private(
            self.network_, codes, self.encoder_.column_of_sub, plan, private[1], rng, plain_codes=plain_codes
        )
        self.privacy_ = privacy_record(*private, books, self.private_statistics_)
        if self._statistics is not None:  # post-processing: the marginals the statistics released (no ε)
            calibration = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
            with torch_threads(self._threads()):
                calibrate_marginals(self.network_, self.encoder_, self._statistics, len(codes), calibration)
        return report

    def _sizes(self, settings: ARGNSettings, n_rows: int) -> tuple[int, int, int]:
        """Embedding width, hidden width and batch size; under privacy DP-SGD's smaller network and its batch."""
        private = self._private_plan
        batch_size = settings.batch_size or int(np.clip(2 ** round(math.log2(max(n_rows, 1) / 50)), 32, 512))
        return (
            settings.embedding_dim or 8,
            settings.hidden_size or (DP_HIDDEN_SIZE if private else 64),
            private[1].expected_batch_size if private else batch_size,
        )

    def _encoder_settings(self, settings: ARGNSettings) -> EncoderSettings:
        """How the columns are encoded: value protection's k, bins, offsets, spikes, labels, free text."""
        return EncoderSettings(
            # value protection: k drawn per model from the seed (a fixed k tells k - 1 from k occurrences)
            rare_threshold=self._protection_k(),
            n_bins=settings.n_bins,
            n_levels=settings.n_levels,
            max_exact_values=settings.max_exact_values,
            offsets=settings.number_offsets,
            rounding=settings.round_numbers, spikes=settings.number_spikes, changes=settings.number_changes,
            made_up_labels=settings.made_up_labels,
            private=self._statistics,
            text_max_tokens=settings.text_max_tokens,
            text_vocabulary=settings.text_vocabulary,
            text_temperature=settings.text_temperature,
            text_max_seconds=settings.text_max_seconds,
            text_max_tokens_seen=settings.text_max_tokens_seen,
            text_max_epochs=settings.text_max_epochs,
        )

    def _fit(self, training: pd.DataFrame, rng: np.random.Generator) -> None:
        settings = self._settings()
        kinds = {name: self.schema_.kind(name) for name in training.columns}
        encoding = self._encoder_settings(settings)
        self.encoder_ = TableEncoder.fit(training, kinds, encoding)
        self.private_statistics_ = self._statistics.spent() if self._statistics is not None else None
        if self._statistics is not None:  # the seeding and rebalancing books keep noisy shares, not exact ones
            self.frequencies_ = released_frequencies(self.schema_, self._statistics)
            self.schema_ = private_schema(self.schema_, self._statistics)
        # encoded once, into compact integer codes: training memory follows them, not the table
        cardinalities = self.encoder_.cardinalities
        plain = self.encoder_.encode(training, equalities=False)
        equal = self.encoder_.code_equalities(plain, training)
        codes = compact_codes(equal, cardinalities)
        plain_codes = codes if equal is plain else compact_codes(plain, cardinalities)
        del plain, equal
        n_rows, n_sub = codes.shape
        embedding_dim, hidden_size, batch_size = self._sizes(settings, n_rows)
        log.info(
            "argn: %d columns -> %d sub-columns (%d codes); embedding %d, hidden %d, batch %d; "
            "stops early, after %d epochs or %s at the latest",
            len(training.columns), n_sub, int(self.encoder_.cardinalities.sum()),
            embedding_dim, hidden_size, batch_size, settings.max_epochs, budget_text(settings),
        )
        plan = TrainingPlan(
            settings=settings,
            batch_size=batch_size,
            device=self._torch_device(),
            show_progress=show_progress_default() if settings.show_progress is None else settings.show_progress,
            equalities=self.encoder_.equalities(),
            rare_values=value_weights(plain_codes, self.encoder_, max_weight=settings.rare_value_weight),
            decay_factor=decay_factor(n_rows, self.encoder_),
        )
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
        with torch_threads(self._threads()):
            self.network_ = ARGNNetwork(
                self.encoder_.cardinalities.tolist(),
                embedding_dim=embedding_dim,
                hidden_size=hidden_size,
                generator=generator,
                code_positions=self.encoder_.code_positions(),
            )
            report = self._train(codes, plain_codes, plan, rng)
            # free text: the words, given the row; calibrated on rows the network draws, as sampling writes them
            self.encoder_.fit_in_context(training, codes, rng, self._text_contexts(rng))
        self.training_report_ = asdict(report)
        self._fit_beside_the_network(training, kinds, settings, rng)

    def _text_contexts(self, rng: np.random.Generator) -> np.ndarray | None:
        """Rows the trained network draws (codes) for the text model's calibration; None without free text."""
        if not any(isinstance(e, TextEncoder) for e in self.encoder_.encoders):
            return None  # no draw from ``rng``: tables without free text train as before
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
        return sample_codes(self.network_, self.encoder_, TEXT_CALIBRATION_ROWS, known_codes=None, known=None,
                            impute=False, temperature=1.0, generator=generator)

    def _fit_beside_the_network(
        self, training: pd.DataFrame, kinds: dict[str, ColumnKind], settings: ARGNSettings, rng: np.random.Generator
    ) -> None:
        """After training: the copula for rare conditions and the closeness guard (neither changes the network)."""
        self.rare_copula_ = self._fit_rare_copula(training, settings)
        self.closeness_guard_ = self._fit_closeness_guard(training, kinds, settings, rng)

    def _fit_closeness_guard(
        self, training: pd.DataFrame, kinds: dict[str, ColumnKind], settings: ARGNSettings, rng: np.random.Generator
    ) -> ClosenessGuard | None:
        """The sampling-time closeness guard (see closeness_guard); None when off, under privacy or above its cap.

        Fitted last, from the fit's generator: the network and the copula are the same with or without it.
        Free text is not measured (the QA's distances leave it out too).
        """
        if not settings.closeness_guard:
            return None
        if self._statistics is not None:
            log.warning("argn: closeness_guard is off under privacy (it would read training rows outside the budget)")
            return None
        guard = fit_guard(training[[c for c in training.columns if kinds[c] is not ColumnKind.TEXT]], kinds, rng)
        if guard is None:
            log.info("argn: closeness_guard is off: %d training rows (it measures 3 to %d)",
                     len(training), MAX_REFERENCE_ROWS)
        return guard

    def _fit_rare_copula(self, training: pd.DataFrame, settings: ARGNSettings) -> GaussianCopulaGenerator | None:
        """The copula rows fixing a value seen very few times come from (see rare_copula); None under privacy.

        Fitted after training, from its own seed: the network is the same with or without it.
        """
        if settings.rare_copula_count <= 0 or self._statistics is not None:
            return None
        return fit_rare_copula(training, self.schema_, self.random_state)

    # -- sampling ------------------------------------------------------------------------
    def _sample(self, request: SamplingRequest, rng: np.random.Generator) -> pd.DataFrame:
        guard, share = self.closeness_guard_, self._settings().closeness_guard
        if request.conditions is None and guard is not None and share > 0:
            draw = lambda n: self._sample_argn(SamplingRequest(n, temperature=request.temperature), rng)  # noqa: E731
            return guard.sample(draw, request.n_rows, share)
        copula = self.rare_copula_
        if copula is None:
            return self._sample_argn(request, rng)
        rows = rare_rows(request, self.frequencies_, self.n_training_rows_, self._settings().rare_copula_count)
        if not rows.any():
            return self._sample_argn(request, rng)
        drawn = copula._sample(rows_of(request, rows), rng)
        argn_has_all = not set(self.encoder_.names) <= set(drawn.columns)  # free text: argn's in every row
        if not argn_has_all and rows.all():
            return drawn[list(self.encoder_.names)]
        argn_rows = self._sample_argn(request if argn_has_all else rows_of(request, ~rows), rng)
        return merge_rows(argn_rows, drawn, rows, argn_has_all)

    def _sample_argn(self, request: SamplingRequest, rng: np.random.Generator) -> pd.DataFrame:
        encoder = self.encoder_
        known_codes = known = guidance = None
        if request.conditions is not None and request.fixed is not None:
            columns = [c for c in encoder.names if c in request.conditions.columns]
            if columns:
                conditions = request.conditions[columns]
                known = np.zeros((request.n_rows, len(encoder.names)), dtype=bool)
                for c, column in enumerate(encoder.encoders):
                    if column.name not in request.fixed.columns:
                        continue
                    fixed = request.fixed[column.name].to_numpy(dtype=bool)
                    # A fixed "missing" can only be shown to the model if it knows a missing code.
                    representable = conditions[column.name].notna().to_numpy() | column.has_missing
                    known[:, c] = fixed & representable
                known_codes = encoder.encode(conditions, known=known)
                if not request.impute:
                    guidance = rare_condition_strength(
                        conditions, request.fixed, self.frequencies_, self._settings().rare_value_guidance
                    )
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
        with torch_threads(self._threads()):
            codes = sample_codes(
                self.network_,
                encoder,
                request.n_rows,
                known_codes=known_codes,
                known=known,
                impute=request.impute,
                temperature=request.temperature,
                generator=generator,
                progress=request.progress,
                guidance=guidance,
            )
            return encoder.decode(codes, rng, temperature=request.temperature)

    # -- persistence ---------------------------------------------------------------------
    def _get_state(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder_.to_state(),
            "network": {"config": self.network_.config(), "arrays": self.network_.numpy_state()},
            "training_report": self.training_report_,
            "private_statistics": self.private_statistics_,
            "privacy": self.privacy_,
            "rare_copula": copula_state(self.rare_copula_) if self.rare_copula_ is not None else None,
            "closeness_guard": self.closeness_guard_.to_state() if self.closeness_guard_ is not None else None,
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        self.encoder_ = TableEncoder.from_state(state["encoder"])
        network = state["network"]
        if list(network["config"]["cardinalities"]) != self.encoder_.cardinalities.tolist():
            raise ValueError("the network's input sizes do not match the column encoders' code counts")
        self.network_ = ARGNNetwork.from_numpy_state(network["config"], network["arrays"])
        self.network_.eval()
        self.training_report_ = state["training_report"]
        self.private_statistics_ = state.get("private_statistics")
        self.privacy_ = state.get("privacy")  # None: trained without differential privacy
        rare_copula = state.get("rare_copula")  # None: no copula for rare conditions (privacy, or saved before)
        self.rare_copula_ = copula_from_state(rare_copula) if rare_copula is not None else None
        guard = state.get("closeness_guard")  # None: off, under privacy, above the cap, or saved before
        self.closeness_guard_ = ClosenessGuard.from_state(guard) if guard is not None else None
