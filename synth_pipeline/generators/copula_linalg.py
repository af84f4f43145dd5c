"""The Gaussian copula's linear algebra: the correlation from score products, its checks and its factor."""

from __future__ import annotations

import numpy as np


def correlation_of_products(products: np.ndarray) -> np.ndarray:
    """Correlation of the underlying normals from the rows' scores' mean products, nudged to be positive definite.

    A score is a column's expected latent given the row's value (see :meth:`_Marginal.scores`).
    For underlying normals with correlation rho, the scores' mean product is, to first
    order, rho times the product of their mean squares (1 for a column of distinct
    numbers, less for a few values, ties or missing cells: the polychoric relation), so
    dividing by those recovers rho. Correlating latents drawn inside the intervals
    instead would leave dependence between discrete columns at about half its strength.
    """
    if products.shape[1] == 1:
        return np.ones((1, 1))
    strength = np.diag(products).copy()
    scale = np.outer(strength, strength)
    matrix = np.clip(np.divide(products, scale, out=np.zeros_like(products), where=scale > 1e-12), -1.0, 1.0)
    np.fill_diagonal(matrix, 1.0)
    values, vectors = np.linalg.eigh(matrix)
    matrix = vectors @ np.diag(np.clip(values, 1e-4, None)) @ vectors.T
    scale = np.sqrt(np.diag(matrix))
    return matrix / np.outer(scale, scale)


def checked_correlation(matrix: np.ndarray, size: int) -> np.ndarray:
    """A loaded correlation matrix if it is one: size x size, finite, symmetric, unit diagonal, PSD; else ValueError."""
    if matrix.shape != (size, size):
        raise ValueError(f"the correlation matrix is {matrix.shape}, the marginals need {(size, size)}")
    if not np.isfinite(matrix).all() or not np.allclose(matrix, matrix.T, atol=1e-9):
        raise ValueError("the correlation matrix is not finite and symmetric")
    if not np.allclose(np.diag(matrix), 1.0, atol=1e-9):
        raise ValueError("the correlation matrix does not have ones on its diagonal")
    if np.linalg.eigvalsh(matrix).min() < -1e-8:
        raise ValueError("the correlation matrix is not positive semi-definite")
    return matrix


def cholesky(covariance: np.ndarray) -> np.ndarray:
    """A factor ``L`` with ``L @ L.T == covariance``: the Cholesky factor, which is unique.

    Unlike an eigen decomposition (whose vectors' signs and order within near-equal
    eigenvalues are the LAPACK build's choice), it gives the same samples on every
    machine. A covariance that is only semi-definite (a latent fixed by the others)
    falls back to eigenvectors with a canonical sign.
    """
    covariance = (covariance + covariance.T) / 2
    try:
        return np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(covariance)
        return canonical_signs(vectors) @ np.diag(np.sqrt(np.clip(values, 0.0, None)))


def canonical_signs(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` (as columns) each flipped so that its largest entry by size is positive."""
    largest = vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])]
    return vectors * np.where(largest < 0, -1.0, 1.0)
