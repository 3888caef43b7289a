"""Supervised dimension reduction for matrices: PLS / shrinkage LDA, a non-linear correction, chosen by CV.

Candidates, each a map from standardized features to ``d`` components (fitted on a training fold):

- ``pca``: the top ``d`` principal components of the centred, unscaled features (unsupervised; what PCA
  exploits: variance, including the larger variance of informative features);
- ``pls``: PLS on one-hot classes (each class column standardized) or y: covariance with the target;
- ``lda@s``: linear discriminants with shrinkage ``s`` of the within-class covariance (plain LDA has no
  shrinkage and over-fits when features outnumber samples); when ``d`` exceeds ``classes - 1`` the remaining
  components are PLS components of the features after removing what the discriminants explain;
- ``<linear>+quad``: the best linear candidate's first ``d - d_nl`` components (``d_nl = max(1, d // 4)``),
  plus ``d_nl`` PLS components of the 10 products (pairwise products and squares, ranked by F) of the 30
  features that extremely randomized trees rank highest, deflated against the linear components so they only add what those miss
  (interactions such as XOR, radial structure such as shells).

- ``pls|m``, ``lda@0.5|m``: the same on the ``m`` features with the largest F statistic (``m`` = 5d and 20d;
  supervised PCA's screening, Bair et al. 2006): when few of many features carry the signal, PLS and LDA
  directions fitted on all of them are mostly noise, PCA only finds the signal if it has the largest variance,
  and a reducer fitted on the screened features finds it either way.

The candidate is chosen by stratified K-fold CV on the training data (the held-out score of
:func:`bioLM.summarize._stability.held_out_score` on the standardized components: a logistic regression, the
consumer of a reduction) with the one-standard-error rule: the first
of ``pls, pca, lda@..., pls|m, ...`` within one SE of the best wins, and the quadratic correction must beat the linear
candidate it extends by more than one SE. When features outnumber samples every candidate works
in the span of the training samples (``(n, r)`` coordinates from the Gram matrix), which is exact for PCA,
PLS and the LDA directions, and costs ``O(n^2 p)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.cross_decomposition import PLSRegression
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
from sklearn.feature_selection import f_classif, f_regression
from sklearn.model_selection import KFold, StratifiedKFold

from bioLM.summarize._stability import held_out_score, one_se_choice

SHRINKAGES = (0.01, 0.1, 0.5, 0.9, 0.99)

SCREENS = (5, 20)
"""Screened candidates keep ``factor * d`` features."""
N_QUADRATIC_FEATURES = 30
N_PRODUCTS = 10


def span_basis(Xs: np.ndarray, tol: float = 1e-9) -> np.ndarray | None:
    """``(p, r)`` orthonormal basis of the row space of ``Xs`` when ``p > n`` (else None: use ``Xs``)."""
    n, p = Xs.shape
    if p <= n:
        return None
    eigenvalues, U = np.linalg.eigh(Xs @ Xs.T)  # (n,), (n, n)
    keep = eigenvalues > tol * max(eigenvalues.max(), 1e-300)
    U, s = U[:, keep], np.sqrt(eigenvalues[keep])
    return (Xs.T @ U) / s  # (p, r)


@dataclass
class Coords:
    """Training-span coordinates of the same samples: ``std`` of the standardized features (PLS, LDA) and
    ``raw`` of the centred, unscaled ones (PCA, where a feature's variance is part of the signal)."""

    std: np.ndarray  # (n, r)
    raw: np.ndarray  # (n, r')

    def __getitem__(self, rows) -> Coords:
        return Coords(self.std[rows], self.raw[rows])

    def space(self, name: str) -> np.ndarray:
        return self.raw if name == "pca" else self.std


def _targets(y: np.ndarray, classification: bool) -> np.ndarray:
    if classification:  # (n, C) one-hot, each column standardized: every class weighs the same
        Y = (y[:, None] == np.unique(y)[None, :]).astype(float)
        return (Y - Y.mean(0)) / np.maximum(Y.std(0), 1e-12)
    return ((y - y.mean()) / (y.std() or 1.0))[:, None]


@dataclass
class LinearMap:
    """Components ``(X - mean) @ W``."""

    mean: np.ndarray
    W: np.ndarray  # (q, d)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) @ self.W


def _pls(X: np.ndarray, Y: np.ndarray, d: int) -> np.ndarray:
    """PLS weights mapping centred X to its ``d`` x-scores, (q, d)."""
    d = max(1, min(d, X.shape[1], len(X) - 1))
    pls = PLSRegression(n_components=d, scale=False).fit(X, Y)
    return pls.x_rotations_


def _fill(X: np.ndarray, Z: np.ndarray, W: np.ndarray, Y: np.ndarray, d: int) -> np.ndarray:
    """Append ``d - W.shape[1]`` PLS directions of X deflated by its components ``Z = X @ W``."""
    missing = d - W.shape[1]
    if missing <= 0:
        return W[:, :d]
    B = np.linalg.lstsq(Z, X, rcond=None)[0]  # (m, q): X ≈ Z B
    residual = X - Z @ B
    R = _pls(residual, Y, missing)
    return np.hstack([W, (np.eye(X.shape[1]) - W @ B) @ R])  # residual @ R == X @ (I - W B) @ R


def _lda(X: np.ndarray, y: np.ndarray, d: int, shrinkage: float | str) -> tuple[np.ndarray, np.ndarray]:
    """(components (n, m), scalings (q, m)) of the first ``m = min(d, classes - 1)`` discriminants."""
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage=shrinkage).fit(X, y)
    W = lda.scalings_[:, :min(d, len(lda.classes_) - 1)]
    return X @ W, W


def fit_linear(name: str, X: np.ndarray, y: np.ndarray, d: int, classification: bool) -> LinearMap:
    """One linear candidate (``pca``, ``pls``, ``lda@s``) fitted on ``X`` (n, q)."""
    mean = X.mean(axis=0)
    Xc = X - mean
    Y = _targets(y, classification)
    if name == "pca":
        W = np.linalg.svd(Xc, full_matrices=False)[2][:d].T
    elif name == "pls":
        W = _pls(Xc, Y, d)
    else:
        W = _fill(Xc, *_lda(Xc, y, d, float(name.split("@")[1])), Y, d)
    return LinearMap(mean, W)


@dataclass
class Correction:
    """Non-linear components: PLS on the pairwise products of the top features, deflated by the linear ones."""

    features: np.ndarray
    pairs: np.ndarray  # (2, N) column pairs of ``features`` multiplied
    mean: np.ndarray
    scale: np.ndarray
    B: np.ndarray  # (m, N) regression of the products on the linear components
    R: np.ndarray  # (N, d_nl)

    def products(self, X: np.ndarray) -> np.ndarray:
        top = X[:, self.features]  # (n, q)
        return ((top[:, self.pairs[0]] * top[:, self.pairs[1]]) - self.mean) / self.scale  # (n, N)

    def __call__(self, X: np.ndarray, Z: np.ndarray) -> np.ndarray:
        return (self.products(X) - Z @ self.B) @ self.R


def fit_correction(X: np.ndarray, y: np.ndarray, Z: np.ndarray, d_nl: int, classification: bool,
                   seed: int) -> Correction:
    """Quadratic correction on top of linear components ``Z`` (n, m, centred) of ``X`` (n, p), standardized."""
    trees = (ExtraTreesClassifier if classification else ExtraTreesRegressor)(
        n_estimators=100, max_features="sqrt", min_samples_leaf=2, random_state=seed, n_jobs=1).fit(X, y)
    features = np.argsort(-trees.feature_importances_, kind="stable")[:N_QUADRATIC_FEATURES]
    top = X[:, features]
    pairs = np.stack(np.triu_indices(len(features)))  # every product and square of the top features
    raw = top[:, pairs[0]] * top[:, pairs[1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        relevance = (f_classif(raw, y) if classification else f_regression(raw, y))[0]
    keep = np.argsort(-np.nan_to_num(relevance, nan=-1.0), kind="stable")[:N_PRODUCTS]
    pairs, raw = pairs[:, keep], raw[:, keep]
    correction = Correction(features, pairs, raw.mean(axis=0), np.maximum(raw.std(axis=0), 1e-12),
                            np.zeros((Z.shape[1], raw.shape[1])), np.zeros((raw.shape[1], d_nl)))
    products = correction.products(X)
    correction.B = np.linalg.lstsq(Z, products, rcond=None)[0]
    correction.R = _pls(products - Z @ correction.B, _targets(y, classification), d_nl)
    return correction


@dataclass
class Reduction:
    """A fitted candidate: linear map on the span coordinates (or on the screened ``features`` of X), optional
    correction on the features."""

    name: str
    linear: LinearMap
    correction: Correction | None = None
    n_linear: int = field(default=0)
    features: np.ndarray | None = None

    def __call__(self, X: np.ndarray, coords: Coords) -> np.ndarray:
        space = (coords.space(self.name.partition("+")[0]) if self.features is None
                 else X[:, self.features])
        Z = self.linear(space)
        if self.correction is None:
            return Z
        Z = Z[:, :self.n_linear]
        return np.hstack([Z, self.correction(X, Z)])


def fit_candidate(name: str, X: np.ndarray, coords: Coords, y: np.ndarray, d: int, classification: bool,
                  seed: int) -> Reduction:
    """Fit candidate ``name`` (``pca``, ``pls``, ``lda@s``, or ``<linear>+quad``)."""
    linear_name, _, nonlinear = name.partition("+")
    linear_name, _, screen = linear_name.partition("|")
    features = None if not screen else screened(X, y, int(screen), classification)
    T = coords.space(linear_name) if features is None else X[:, features]
    if not nonlinear:
        return Reduction(name, fit_linear(linear_name, T, y, d, classification), features=features)
    d_nl = max(1, d // 4)
    n_linear = d - d_nl
    linear = fit_linear(linear_name, T, y, max(n_linear, 1), classification)
    Z = linear(T)[:, :n_linear]
    return Reduction(name, linear, fit_correction(X, y, Z, d_nl, classification, seed), n_linear, features)


def screened(X: np.ndarray, y: np.ndarray, m: int, classification: bool) -> np.ndarray:
    """Sorted indices of the ``m`` features of ``X`` (n, p) with the largest F statistic for ``y``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        relevance = (f_classif(X, y) if classification else f_regression(X, y))[0]
    return np.sort(np.argsort(-np.nan_to_num(relevance, nan=-1.0), kind="stable")[:m])


def candidates(classification: bool, n_classes: int, d: int, p: int) -> list[str]:
    """The linear candidates for a task (``d`` components of ``p`` features)."""
    names = ["pls", "pca"]
    lda = classification and n_classes >= 2
    if lda:
        names += [f"lda@{s:g}" for s in SHRINKAGES]
    for m in sorted({factor * d for factor in SCREENS}):
        if m < p:
            names += [f"pls|{m}"] + ([f"lda@0.5|{m}"] if lda else [])
    return names


def choose(X: np.ndarray, coords: Coords, y: np.ndarray, d: int, classification: bool, n_folds: int,
           nonlinear: bool, seed: int) -> tuple[str, dict[str, float]]:
    """Best candidate by K-fold CV on the training data; returns (name, mean score of every candidate)."""
    stratify = classification and np.unique(y, return_counts=True)[1].min() >= n_folds
    splitter = (StratifiedKFold if stratify else KFold)(n_folds, shuffle=True, random_state=seed)
    names = candidates(classification, len(np.unique(y)), d, X.shape[1])
    folds = list(splitter.split(X, y))

    def evaluate(name: str) -> list[float]:
        values = []
        for fit, test in folds:
            reduction = fit_candidate(name, X[fit], coords[fit], y[fit], d, classification, seed)
            Z_fit, Z_test = reduction(X[fit], coords[fit]), reduction(X[test], coords[test])
            mean, scale = Z_fit.mean(axis=0), np.maximum(Z_fit.std(axis=0), 1e-12)
            values.append(held_out_score((Z_fit - mean) / scale, y[fit], (Z_test - mean) / scale, y[test],
                                         classification, knn=False))
        return values

    scores = {name: evaluate(name) for name in names}
    best_linear = one_se_choice(scores, names)
    if nonlinear and d >= 2:
        names.append(f"{best_linear}+quad")
        scores[names[-1]] = evaluate(names[-1])
    return one_se_choice(scores, names), {name: float(np.mean(v)) for name, v in scores.items()}
