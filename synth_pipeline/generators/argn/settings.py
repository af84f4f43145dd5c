"""ARGN's settings: one validated model (names, defaults, bounds), importable without torch."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from synth_pipeline.generators.settings import GeneratorSettings, Integer, Number


class ARGNSettings(GeneratorSettings):
    """The settings of :class:`synth_pipeline.generators.argn.ARGNGenerator`.

    All keyword-only, defaults meant for tables nobody tuned:

    * ``max_cells_seen``: the training budget, in cells: training stops once the training rows seen (the
      mini-batch rows summed over steps, the final epochs' too; validation passes do not count) times the
      model's columns reach it. It counts, never times, so the same data, settings and seed give the same
      model on any machine; a warning says when it stops training before early stopping (the model is then
      reproducible but may be under-trained) and the report says ``cell budget of N reached`` (no
      ``final_epochs`` then). The default, 36,000,000, is set by the 1,470,000 x 32 scale table: it learns 200,000
      rows (``max_training_rows``), 179,712 of them per epoch (the 180,000 left by the 10% validation split, in
      whole batches of 512), 5.75M cells per epoch, so 36M cells is about 6.3 epochs; at 40M (7 epochs, what the
      former 300 s time budget gave) the whole lifecycle took 485 s on the 2-core development machine of 2
      December, over the README's 480 s target. creditcard_default (the 15,000-row benchmark half: 13,312 rows
      per epoch x 24 columns) would need 113 epochs to reach it and stops early at 87-95; census (21,504 x 15)
      and bank_marketing (19,968 x 17) stop at 42-52 epochs with room for 106-112. Not under ``privacy``
      (the accountant's plan fixes the number of DP-SGD steps).
    * ``max_training_seconds``: an optional wall-clock limit of the training loop (under ``privacy`` too);
      ``None`` (the default): none. A model stopped by it depends on the machine's speed and load (a
      warning says so); ``max_cells_seen`` and ``max_epochs`` are the limits the same seed reproduces.
    * ``max_epochs``, ``patience``: epochs at most; stop after ``patience`` epochs
      without a better validation loss (twice the learning rate is lowered first).
    * ``validation_share``: share of the training rows held out for early stopping.
    * ``final_epochs``: epochs on all training rows, the validation rows included, after early stopping
      chose the weights (at the last learning rate, from the best weights): the model learns from the rows
      it held out too, on tables of at least 10,000 rows (on a 1,350-row table they raised the DCR share by
      0.4-0.5 pp at the same accuracy). 2 measured +0.08-0.10 pp overall accuracy on census (seeds 0 and 1),
      +0.07-0.11 pp on creditcard_default (15,000 rows); 0: none.
    * ``calibrate_marginals``: after training, each column's first sub-column (its category, atom or
      bin) is calibrated to the training rows' code shares: rows are sampled, and each code's output bias
      moves by the log of its training share over its sampled share, three rounds (see
      :mod:`synth_pipeline.generators.argn.marginal_calibration`; the errors an autoregressive model carries
      from earlier columns into later ones). Under ``privacy`` the targets are the released noisy counts
      instead, whatever this says. ``False``: no calibration without privacy.
    * ``batch_size``, ``learning_rate``, ``weight_decay``: optimizer (AdamW); batch
      size ``None`` picks one from the number of rows. The strong default decay (0.3)
      measured better validation loss, accuracy and DCR share on census (3 seeds). It applies
      unchanged from 80 rows per code of the categorical column with the most codes; below, it grows
      in proportion, up to 10x (see :mod:`synth_pipeline.generators.argn.regularization`).
    * ``embedding_dim``, ``hidden_size``: network width (``None``: picked from the table).
    * ``rare_category_threshold``: category values (and exact numbers) seen fewer
      than ``k`` times are pooled and never generated, where ``k`` is drawn per model from
      the seed in ``[threshold, threshold + 5)`` (a fixed ``k`` would tell whether a value
      occurred ``k - 1`` or ``k`` times); binned numbers end at the ``k``-th smallest and
      largest value.
    * ``n_bins``, ``n_levels``: quantile bins of continuous numbers and slices per bin.
    * ``max_exact_values``: numbers with at most this many frequent values keep them exactly.
    * ``number_offsets``: code a number as its ratio or difference to an earlier number column when
      that column explains most of it (nearly proportional amounts, split times).
    * ``number_spikes``: keep values far more frequent than their neighbours (round payments such as
      1,500 or 10,000 among smooth amounts) as exact values even where a column has more frequent values
      than ``max_exact_values`` (see :mod:`synth_pipeline.generators.argn.encoders.spikes`).
    * ``number_changes``: where a later number column's difference to an earlier one varies far less
      than the later column itself (a bill and last month's bill, any sign), the earlier column gets a
      sub-column of that difference's bins, drawn before the later column, so sampled values move from
      month to month as in training (see :mod:`synth_pipeline.generators.argn.encoders.changes`). Off by
      default: on creditcard_default (seeds 0 and 1, 34 epochs) it lowered the discriminator AUC by
      0.015-0.022 but cost 0-0.24 pp of accuracy and a quarter to a third more training time (README).
    * ``round_numbers``: give numbers that are round (multiples of 10, 100, ...) more often than
      chance a sub-column that says so, so sampled amounts are as often round as real ones. Off by
      default: on creditcard_default (4,000-row subsets, 2 seeds) it cost 0.2-0.5 pp of accuracy.
    * ``made_up_labels``: a drawn rare code of a text category is written as a made-up label of a
      frequent label's shape (``"482 Bapolne Street"``; never a training value) instead of a frequent value
      drawn uniformly (see :mod:`synth_pipeline.generators.argn.encoders.made_up_labels`). Off by default:
      on ``sim_listings`` (3 seeds) it raised overall accuracy 1.4-4.5 pp and lowered the discriminator AUC
      from 0.79-0.88 to 0.48-0.49 but did not lower the DCR share (issue 15). Keyed hashes of the rare
      training labels are then kept with the model (as the text encoder keeps its rare tokens').
    * ``canonical_order_share``: share of training orders that are the table order.
    * ``ema_decay``: decay of the moving average of the weights that is validated and kept (0: none).
    * ``dropout``: share of hidden units dropped in training (regularization).
    * ``input_sparsity``: weight of a group-lasso penalty on the heads' first-layer weights,
      one group per (head, number input sub-column): each head learns to read few numbers,
      which limits how far it can single out training rows by their combination of values
      (categorical inputs stay free, so a rare class still conditions the rest). 0: off.
    * ``rare_value_weight``: a head whose inputs include a categorical value rarer than 5% of the
      rows weighs up to this much more in the loss (5% / share, capped), so conditioning on a rare
      class (rebalancing, seeded sampling) is learned instead of shrunk toward the majority; the
      weight depends on the head's inputs only, never its target, so shares are not inflated. 1 (the
      default): off; 20 measured best for rebalancing a census class seen 18 times.
    * ``rare_value_guidance``: when seeded sampling or rebalancing fixes a categorical value rarer
      than 5% of the training rows, the other columns are drawn with this much guidance away from
      the unconditional model (``p(x | c) * (p(x | c) / p(x)) ** g``): it sharpens what the model
      could learn from few rows of that value. 0 (the default): exact conditional sampling. Imputation
      never uses it. Read when sampling, so ``set_params`` changes it for a fitted model too.
    * ``rare_copula_count``: a seeded or rebalanced row whose fixed cells hold a categorical value seen
      fewer than this many times in training is drawn from a Gaussian copula of the whole table, which
      argn fits beside its network (see :mod:`synth_pipeline.generators.argn.rare_copula`): a conditional
      learned from a few dozen rows is mostly shrinkage, the copula's borrows the whole table's
      correlations. Free-text columns stay argn's; never under a privacy budget. 0: never. Read when
      sampling too: 0 on a fitted model turns it off (a model fitted with 0 has no copula to turn on).
    * ``text_temperature``, ``text_max_tokens_seen``, ``text_max_seconds``, ``text_max_epochs``,
      ``text_max_tokens``, ``text_vocabulary``: free-text columns (kind ``text``): the word model's sampling
      temperature (multiplied by ``sample``'s); its training budget in tokens (training tokens seen, summed
      over steps, validation passes not counted: a count, so reproducible); an optional wall-clock limit
      (``None``, the default: none; a model it stops depends on the machine's speed); its epochs at most (it
      stops early after 3 epochs without a better validation loss; the learning rate drops x0.3 after each
      such epoch; a warning says when a budget stops it first); the most tokens a text has (longer ones are
      cut), and the most words it knows (only words seen in at least ``k`` rows, the rare-value threshold,
      are known). The token budget's default, 20,000,000, is not reached on the Debian descriptions
      benchmark: 24,000 training texts of 7.9 tokens on average, about 171,000 tokens per epoch after the
      10% validation split, 10M in ``text_max_epochs``' 60 epochs; it stops early after 15-16.
    * ``closeness_guard``: at sampling, a row that sits on top of one training row more closely than this
      share of fresh rows from the population would (its distance to the nearest training row over that to
      the second nearest, on all columns and on the QA's column subsets, against the same ratio of training
      rows left out) is redrawn (see :mod:`synth_pipeline.generators.closeness_guard`). 0 (the default): off;
      on the benchmark tables 0.1 lowered the DCR share by 0.5-3.3 pp but cost creditcard_default 3 pp of
      accuracy (README). Fitted from the training rows (up to 25,000; none above) after training when set
      above 0; never under ``privacy`` (it reads training rows); plain sampling only (seeded, rebalanced and
      imputed rows are drawn as asked). Read when sampling too: ``set_params`` changes the share, or turns the
      guard off, on a model fitted with it.
    * ``device``: ``"auto"`` (GPU when present), ``"cpu"`` or ``"cuda"``.
    * ``n_threads``: CPU threads for torch (``None``: all cores up to 4).
    * ``show_progress`` (every generator's): live progress line (``None``: when stderr is a terminal).
    * ``privacy`` (every generator's): ``{epsilon, delta}`` trains with DP-SGD under that total budget
      (see :mod:`synth_pipeline.generators.privacy_budget`); ``None``: no differential privacy.
    """

    max_cells_seen: Integer = Field(
        36_000_000, ge=1, description="training budget: training rows seen times the model's columns (reproducible)"
    )
    max_training_seconds: Number | None = Field(
        None, gt=0, description="wall-clock limit of the training loop (None: none; a model it stops is machine-bound)"
    )
    max_epochs: Integer = Field(200, ge=1, description="epochs at most")
    patience: Integer = Field(4, ge=1, description="epochs without a better validation loss before stopping")
    validation_share: Number = Field(0.1, ge=0, le=0.5, description="share of training rows for early stopping")
    final_epochs: Integer = Field(
        2, ge=0, le=100, description="epochs on all rows (validation rows too) after early stopping (0: none)"
    )
    calibrate_marginals: bool = Field(True, description="calibrate each column's codes to training's shares")
    batch_size: Integer | None = Field(None, ge=1, description="rows per step (None: picked from the row count)")
    learning_rate: Number = Field(3e-3, gt=0, le=1, description="AdamW learning rate")
    weight_decay: Number = Field(0.3, ge=0, description="AdamW weight decay")
    embedding_dim: Integer | None = Field(None, ge=1, le=512, description="embedding width (None: 8)")
    hidden_size: Integer | None = Field(None, ge=1, le=4096, description="hidden layer width (None: 64)")
    rare_category_threshold: Integer = Field(5, ge=1, description="values seen fewer times are pooled, never drawn")
    n_bins: Integer = Field(64, ge=1, le=1024, description="quantile bins of continuous numbers")
    n_levels: Integer = Field(8, ge=1, le=1024, description="slices per bin")
    max_exact_values: Integer = Field(
        128, ge=0, le=1000, description="numbers with at most this many frequent values keep them exactly"
    )
    number_offsets: bool = Field(True, description="code numbers relative to an earlier column where that fits")
    number_spikes: bool = Field(True, description="keep values far more frequent than their neighbours exactly")
    number_changes: bool = Field(False, description="code how much a later number column changes from this one")
    round_numbers: bool = Field(False, description="model how often numbers are round (multiples of 10, 100, ...)")
    made_up_labels: bool = Field(False, description="write a drawn rare category as a made-up label, not a frequent")
    canonical_order_share: Number = Field(0.5, ge=0, le=1, description="share of training orders in table order")
    ema_decay: Number = Field(0.98, ge=0, le=0.9999, description="decay of the weights' moving average (0: none)")
    dropout: Number = Field(0.25, ge=0, le=0.9, description="share of hidden units dropped in training")
    input_sparsity: Number = Field(0.005, ge=0, description="group-lasso weight on the heads' number inputs")
    rare_value_weight: Number = Field(
        1.0, ge=1, description="loss weight, at most, of heads that see a categorical value rarer than 5% (1: off)"
    )
    rare_value_guidance: Number = Field(
        0.0, ge=0, le=10, description="guidance of conditions on a categorical value rarer than 5% (0: none)"
    )
    rare_copula_count: Integer = Field(
        50, ge=0, description="seeded/rebalanced rows fixing a value seen fewer times come from a copula (0: never)"
    )
    text_temperature: Number = Field(1.0, gt=0, le=10, description="free text: the word model's sampling temperature")
    text_max_tokens_seen: Integer = Field(
        20_000_000, ge=1, description="free text: training budget of each text column's model, in tokens seen"
    )
    text_max_seconds: Number | None = Field(
        None, gt=0, description="free text: wall-clock limit of each text column's model (None: none)"
    )
    text_max_epochs: Integer = Field(60, ge=1, description="free text: epochs at most of each text column's model")
    text_max_tokens: Integer = Field(40, ge=1, le=512, description="free text: the most tokens a text has")
    text_vocabulary: Integer = Field(
        4000, ge=1, le=50_000, description="free text: the most words known (each seen in >= k rows)"
    )
    closeness_guard: Number = Field(
        0.0, ge=0, le=0.5, description="redraw rows closer to one training row than this share of fresh rows (0: off)"
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="'auto' (GPU when present), 'cpu' or 'cuda'")
    n_threads: Integer | None = Field(None, ge=1, le=256, description="CPU threads for torch (None: cores up to 4)")

    read_when_sampling: ClassVar[frozenset[str]] = frozenset(
        {"show_progress", "n_threads", "rare_value_guidance", "rare_copula_count", "closeness_guard"}
    )
    #: ``privacy: {epsilon, delta}`` trains with DP-SGD (see :mod:`synth_pipeline.generators.argn.private_training`)
    supports_privacy: ClassVar[bool] = True
