"""The words of the HTML report: what each number means and what is good (a data literal, no logic)."""

from __future__ import annotations

# section anchor -> one paragraph shown under the section's heading
SECTION_NOTES: dict[str, str] = {
    "gates": "Each gate compares one headline number with the threshold configured for this dataset. A failed "
    "blocking gate stops publishing; a failed warning gate is published but flagged.",
    "summary": "Every number for synthetic beside its reference: what holdout rows (real rows the generator never "
    "saw) reach against training. Synthetic close to its reference is as good as fresh real data.",
    "accuracy": "Accuracy is 1 minus the total variation distance between the binned distributions of training "
    "and synthetic: 100% means identical shares in every bin. The ceiling is the same measure for holdout vs "
    "training; no generator can be expected to beat it, so judge each column by its gap to the ceiling (a few "
    "points is good, ten or more means the generator missed that column's shape). Bivariate accuracy is the mean "
    "over the pairs a column is part of.",
    "univariate": "Share of rows per bin, fitted on training: training (blue), synthetic (green), holdout (grey). "
    "Green bars that follow the blue ones as closely as the grey ones do are good.",
    "pairs": "Bivariate accuracy of every pair of columns (1 - TVD of their joint binned distribution). Darker is "
    "better; a light cell marks a pair whose relationship the generator did not reproduce. Hover a cell for the "
    "value and its ceiling.",
    "weakest": "The pairs furthest below their ceiling. Training and synthetic share one colour scale, so equal "
    "colour means equal share; the difference map shows synthetic minus training: red where synthetic has too "
    "many rows, blue where too few, white where they agree.",
    "correlations": "Association of every pair of columns, measured as Cramér's V of their bins (0: unrelated, "
    "1: one determines the other), for training and synthetic on one scale, and their difference. A difference "
    "near 0 everywhere is good; a strong red or blue cell is a relationship that was exaggerated or lost.",
    "privacy": "Distances from each synthetic row to its closest training row and to its closest holdout row. If "
    "synthetic rows were copied or memorised they sit closer to training than to holdout. The DCR share (share "
    "closer to training) should be near 50%; the worst column subset catches leaks confined to a few columns.",
    "attacks": "Two attacks an adversary could run with the published table, scored on training rows (people "
    "the generator learned from) against holdout rows (people it never saw). Membership inference asks whether "
    "a given person was in the training data; attribute inference guesses a sensitive value of a person from "
    "the rest of their row. Where training and holdout rows fare alike, the table reveals nothing about the "
    "people it was trained on beyond what it reveals about anyone.",
    "rules": "Declared business rules checked on the synthetic rows (training as reference). A blocking rule "
    "with violations stops publishing.",
    "not-learned": "Source columns the generator does not model: they are absent from (or regenerated in) the "
    "synthetic table and no metric in this report covers them.",
}

# (term, meaning, what is good) for the glossary at the end of the page
GLOSSARY: tuple[tuple[str, str, str], ...] = (
    ("overall accuracy", "Mean of univariate, bivariate and trivariate accuracy.",
     "Close to its ceiling (the gate min_accuracy_ratio divides one by the other)."),
    ("univariate / bivariate / trivariate accuracy",
     "1 - total variation distance between the binned distributions of training and synthetic, of single "
     "columns, pairs and triples.", "Close to the holdout ceiling; 100% is only reached by copying."),
    ("ceiling", "The same measure for holdout (real rows never used for training) against training.",
     "The target: synthetic cannot be expected to be closer to training than fresh real data is."),
    ("discriminator AUC", "How well a classifier tells synthetic rows from training rows (cross-validated).",
     "0.5 (cannot tell them apart); 1.0 means every synthetic row is recognisable."),
    ("correlation difference", "Mean absolute difference between the Cramér's V matrices of training and "
     "synthetic.", "Near the holdout reference, i.e. close to 0."),
    ("DCR share", "Share of synthetic rows closer to a training row than to a holdout row (worst over column "
     "subsets).", "About 50%; well above it (gate max_dcr_share) suggests memorised rows."),
    ("mean DCR", "Mean distance from a synthetic row to its closest training (or holdout) row.",
     "Similar to the distance of holdout rows to training; much smaller means near-copies."),
    ("identical to a training row", "Share of synthetic rows equal to some training row in every column.",
     "No higher than the share of holdout rows identical to a training row (real data has duplicates)."),
    ("NNDR 5th percentile", "Closest / second-closest distance among training rows; small values flag rows "
     "sitting on one training row.", "Similar to the holdout reference."),
    ("membership inference AUC", "How well an attacker with the synthetic table and real rows of the population "
     "tells training rows from holdout rows, by how much closer a row sits to the synthetic rows than to the "
     "real ones.", "0.5 (a coin toss); the gate max_mia_auc blocks above its threshold."),
    ("TPR at 1% FPR", "Share of training rows the membership attack flags while wrongly flagging 1% of holdout "
     "rows.", "About 1%; much more means some people are exposed with confidence."),
    ("attribute inference gain", "How much more often a sensitive value is guessed right from the closest "
     "synthetic rows for training rows than for holdout rows.", "About 0 (gate max_attribute_inference_gain)."),
    ("singling-out / linkability risk", "Anonymeter's risks: how much more often statements written from the "
     "synthetic table single out a training row than a holdout row, or join two halves of a training row.",
     "About 0; 1 means every attack on a training row succeeds."),
    ("TSTR / TRTR", "A model trained on synthetic (TSTR) or on training (TRTR) predicts the target on holdout.",
     "TSTR close to TRTR: the synthetic table is as useful for this prediction as the real one."),
    ("distinct rows", "Share of distinct rows in the synthetic sample.", "Close to the holdout's share."),
)
