"""Stability selection over several selection criteria, the criterion chosen on held-out folds.

What each standard selector exploits, and the criterion here that covers it:

- ``anova``: univariate class separation (``f_classif`` / ``f_regression``): strong marginal effects;
- ``stepwise``: forward stepwise discriminant analysis (partial Wilks' lambda, class-balanced): each
  step adds the feature that best separates the classes given those already kept, so a copy of a kept
  feature adds nothing and a suppressor variable counts; each step chooses only among the features with a
  significant marginal F or a significant (label-free) correlation with the kept ones, the only ways a
  feature can help a linear discriminant, so noise features with a chance fit do not crowd out suppressors;
- ``l1``: sparse logistic regression (one-vs-rest, liblinear; Lasso for regression) at the
  regularization that keeps about ``2k`` features: joint, conditional evidence (suppressor variables);
  beyond 2,000 features it (and ``stepwise``) sees a pool (:func:`l1_pool`): the 2,000 best by F and the
  features significantly correlated with the ``k`` best (the suppressors, whatever their own F);
- ``trees``: extremely randomized trees impurity importance: interactions (XOR) and non-linear effects;
- ``union``: the four orders interleaved (a feature high in any of them comes early);
- ``consensus``: the mean rank over the four;
- ``group`` (three or more classes): the group-sparse multinomial logistic regression
  (:mod:`bioLM.summarize._group`), features in the order they enter its path: the consumer's own model, one
  penalty per feature over all classes (with two classes it is the ``l1`` criterion, so it is not tried there);
  it sees the pool of ``l1``;
- ``ridge``: the largest |weight| over the classes of an L2 (multinomial) logistic regression, ``C = 1``
  (ridge weights for regression): dense joint evidence, many small effects spread over correlated features (LM
  embeddings), where the sparse criteria keep a few of them; it sees the pool of ``l1``;
- ``markers`` (classification): class-balanced markers, the ``k`` slots filled round-robin over the classes by
  each class's one-vs-rest t with an mRMR redundancy term (:mod:`bioLM.summarize._markers`): a global
  statistic spends small ``k`` on the classes that differ most. Tried without the correlation cut-off (it has
  its own); it sees every feature, not only the pool of the best by F (a weak class's markers have a low global F);
- ``pairs`` (classification): interaction screening (:mod:`bioLM.summarize._pairs`): the features whose
  pairwise products separate the classes best (among the 60 the trees rank highest) first, the rest in tree
  order; an XOR pair has no marginal or linear effect, and the trees alone find it only sometimes;
- ``graft`` (classification, opt-in: not in :data:`AUTO_CRITERIA`): forward selection on the loss of the
  consumer, a class-balanced multinomial L2 logistic regression (:mod:`bioLM.summarize._graft`); its final
  order is its selection frequency over the resamples (stability selection of the greedy path).

Each criterion can be combined with a redundancy filter (skip a feature whose absolute correlation with an
already kept one is >= ``rho``), which stops correlated copies of one signal from filling all ``k`` slots.

Resampling: ``n_repeats`` repeats of stratified 5-fold cross-fitting. Every candidate (criterion, rho) ranks
features on four fifths of the samples; its top ``k`` are scored on the held-out fifth by the better of a
logistic regression (the kind of model that consumes a selection downstream) and 15-nearest neighbours (which
credits interactions), macro-F1; ridge R² for regression. Four fifths rather than halves: the choice is made
at close to the size of the final fit, so criteria that need samples (the sparse logistic, stepwise) are not
judged on half of them (on halves they lost to cruder criteria that then did worse on all the samples:
benchmarks/RESULTS.md, issue 17, fourth pass). The candidate the one-standard-error rule starts from is the
criterion built on the consumer's own model class (:data:`DEFAULT`, without a filter): the group-sparse
multinomial logistic with three or more classes, the sparse logistic (``l1``) with two, or its dense
counterpart (:data:`DENSE`, the L2 logistic weights) where that one's mean held-out score is the higher: a
sparse default would hold dense signal to the one-SE margin (benchmarks/RESULTS.md, issue 17, eleventh pass).
A rival wins only if its mean held-out score is more than one standard error (of the paired differences over
the same resamples) above it, and, unless it leads by more than :data:`SURE_SE`, it keeps that lead when
``n_repeats`` more repeats (fresh resamples, the two candidates only) are added: its lead over all ``2 *
n_repeats`` repeats must still exceed one standard error. The best of about 20 rivals on the resamples that
also judge it is ahead partly by chance (the winner's curse); on its own the rule let rivals replace the
default on dense signal where they then did worse (benchmarks/RESULTS.md, issue 17, ninth and tenth passes).
The winner is refitted on all the training samples. The score of a feature (``scores_``) is how often it was
in that candidate's top ``k`` over all resamples (its selection frequency, as in stability selection:
Meinshausen & Bühlmann), which breaks ties and serves a ``threshold``.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.stats import f as f_dist
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import f_classif, f_regression
from sklearn.linear_model import Lasso, LogisticRegression, Ridge
from sklearn.metrics import f1_score, r2_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import l1_min_c
from sklearn.utils.parallel import Parallel, delayed

from bioLM.summarize._graft import graft
from bioLM.summarize._group import group_lasso
from bioLM.summarize._markers import markers
from bioLM.summarize._pairs import pairs

BASE_CRITERIA = ("anova", "stepwise", "l1", "trees")
CRITERIA = (*BASE_CRITERIA, "union", "consensus", "group", "ridge", "markers", "pairs", "graft")
AUTO_CRITERIA = tuple(c for c in CRITERIA if c != "graft")
"""``criteria="auto"``: grafting is opt-in (as one more candidate or the default it measured level with the
head, not better: benchmarks/RESULTS.md, issue 17)."""
CLASS_ONLY = ("group", "markers", "pairs", "graft")
"""Criteria defined for classes only."""
MULTICLASS_ONLY = ("group",)
"""Criteria tried with three or more classes only (with two, ``group`` is the ``l1`` criterion)."""
SELF_FILTERED = ("markers", "pairs", "graft")
"""Criteria with their own redundancy term: only tried without the correlation cut-off."""
STABLE_ORDER = ("graft",)
"""Criteria whose final order is the selection frequency over the resamples first (stability selection of a
greedy path), the full-data path breaking ties; the others use the full-data score first."""
DEFAULT = "group"
"""The candidate the one-SE rule starts from for classes (a rival must be clearly better); where it is not a
candidate (two classes: :data:`MULTICLASS_ONLY`), ``l1``; ``anova`` for regression; :data:`DENSE` instead where
its mean held-out score is the higher."""
DENSE = "ridge"
"""The dense counterpart of the default (the L2 logistic regression, the consumer's model without sparsity):
whichever of the two has the better mean held-out score is the candidate the one-SE rule starts from, so
dense signal (LM embeddings: many small effects) is not held to a sparse default (benchmarks/RESULTS.md,
issue 17, eleventh pass)."""
RIVAL_SE = 1.0
"""How many standard errors a rival must beat the default candidate by (the one-standard-error rule), on the
first ``n_repeats`` repeats and again once as many fresh ones are added."""
SURE_SE = 3.0
"""A rival ahead of the default by more than this many standard errors is kept without confirmation: the best
of about 20 chance leads exceeds 3 SE about 3% of the time (``1 - Phi(3)^20``), and on the benchmark's 540 folds
every such lead was confirmed anyway (benchmarks/RESULTS.md, issue 17, tenth pass)."""
N_FOLDS = 5
"""Folds of each repeat of cross-fitting (each candidate ranks on ``1 - 1 / N_FOLDS`` of the samples)."""
L1_POOL = 2000
"""Beyond this many features, the stepwise, L1 and group criteria see a pool of them (:func:`l1_pool`)."""
SCREEN_ALPHA = 0.05
"""Family-wise level of the screens of :func:`stepwise` and :func:`l1_pool` (Bonferroni over the features)."""
_LIBLINEAR = threading.Lock()
"""One liblinear fit at a time: it seeds and draws from the C library's process-wide ``rand()``, so two fits on
two threads (``n_jobs``) would interleave their draws and the selection would depend on the timing."""


def applicable(criteria: tuple[str, ...], n_classes: int) -> tuple[str, ...]:
    """The criteria of ``criteria`` defined for the task (``n_classes``: 0 for regression): :data:`CLASS_ONLY`
    need classes, :data:`MULTICLASS_ONLY` three or more; ``("anova",)`` when none is left."""
    return tuple(c for c in criteria if (n_classes or c not in CLASS_ONLY)
                 and (n_classes >= 3 or c not in MULTICLASS_ONLY)) or ("anova",)


@dataclass
class StabilityResult:
    """Outcome of :func:`stability_select` (``p`` features)."""

    scores: np.ndarray
    """(p,) selection frequency of each feature under the chosen candidate, in [0, 1]."""
    order: np.ndarray
    """(p,) feature indices, best first, with the chosen redundancy filter applied on the full data."""
    criterion: str
    rho: float
    cv_scores: dict[str, float]
    """mean held-out score of every candidate, keyed ``"criterion@rho"``."""


def _standardize(X: np.ndarray) -> np.ndarray:
    scale = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(scale > 1e-12, scale, 1.0)


def _order(score: np.ndarray) -> np.ndarray:
    """Indices by decreasing score; NaN last; ties by index (stable)."""
    return np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable")


def _interleave(orders: list[np.ndarray], p: int) -> np.ndarray:
    """Score from interleaving several orders (first of each, then second of each, ...)."""
    if not orders:
        return np.zeros(p)
    score = np.zeros(p)
    seen = np.zeros(p, dtype=bool)
    position = 0
    for j in np.stack(orders, axis=1).ravel():  # row r = the r-th feature of every order
        if not seen[j]:
            seen[j] = True
            score[j] = p - position
            position += 1
    return score


def correlated(r2: np.ndarray, n: int, m: int, tests: int, alpha: float = SCREEN_ALPHA) -> np.ndarray:
    """Which multiple correlations ``r2`` (p,) of features with ``m`` others over ``n`` samples are significant:
    ``F = (R^2 / m) / ((1 - R^2) / (n - m - 1))`` at ``alpha``, Bonferroni over ``tests`` -> (p,) bool."""
    if not 0 < m < n - 1:
        return np.zeros(r2.shape, dtype=bool)
    return r2 * (n - m - 1) > (1 - r2) * m * f_dist.isf(alpha / tests, m, n - m - 1)


def stepwise(X: np.ndarray, codes: np.ndarray, k: int, n_tests: int | None = None, alpha: float = SCREEN_ALPHA
             ) -> np.ndarray:
    """Forward selection by class-balanced partial Wilks' lambda among the features that can help -> score
    (higher = earlier), (p,).

    Feature ``j`` given the kept set ``S``: ``lambda_j = w_j|S / t_j|S``, its within-class over total
    variance after removing what ``S`` explains (each class weighted to the same total weight).
    Incremental Gram-Schmidt keeps every step at ``O(n p)``.

    Screening: a feature can improve a linear discriminant only through its own class separation or through
    its correlation with the kept features (a suppressor carries their within-class noise); one that has
    neither helps only by chance. So each step chooses among the features whose marginal F or whose
    multiple correlation with ``S`` (label-free: ``R^2 = 1 - t_j|S / t_j``) is significant at ``alpha``,
    Bonferroni over ``n_tests`` (default ``p``; the caller's feature count when ``X`` is a pool of them);
    when none is left, among all. Without it, with thousands of noise features the spurious partial F of
    one of them beats a weak suppressor's at every step (benchmarks/RESULTS.md, issue 17, seventh pass).
    """
    n, p = X.shape
    tests = n_tests or p
    counts = np.bincount(codes)
    n_classes = len(counts)
    weight = np.sqrt(n / (n_classes * counts[codes]))[:, None]  # (n, 1) class-balanced
    means = np.zeros((n_classes, p))
    for c in range(n_classes):
        means[c] = X[codes == c].mean(axis=0)
    Xw = (X - means[codes]) * weight  # within-class
    Xt = (X - (X * weight**2).sum(0) / (weight**2).sum()) * weight  # total
    w_left, t_left = (Xw**2).sum(0), (Xt**2).sum(0)
    t_all = t_left.copy()
    floor = 1e-8 * np.maximum(t_left, 1e-300)
    marginal = np.ones(p, dtype=bool)
    if 2 <= n_classes < n:  # marginal F = ((1 - lambda) / (K - 1)) / (lambda / (n - K))
        lam = w_left / np.maximum(t_all, 1e-300)
        critical = f_dist.isf(alpha / tests, n_classes - 1, n - n_classes)
        marginal = (1 - lam) * (n - n_classes) > lam * (n_classes - 1) * critical
    score = np.zeros(p)
    for step in range(min(k, p)):
        ratio = np.where((t_left > floor) & (w_left > floor), w_left / np.maximum(t_left, 1e-300), np.inf)
        ratio[score > 0] = np.inf
        helps = marginal.copy()
        helps |= correlated(1 - t_left / np.maximum(t_all, 1e-300), n, step, tests, alpha)  # R^2 on S
        screened = np.where(helps, ratio, np.inf)
        j = int(np.argmin(screened)) if np.isfinite(screened).any() else int(np.argmin(ratio))
        if not np.isfinite(ratio[j]):
            break
        score[j] = p - step
        for M, left in ((Xw, w_left), (Xt, t_left)):
            q = M[:, j] / np.sqrt(left[j])  # unit residual of j; M keeps the residuals of every column
            projection = q @ M
            M -= np.outer(q, projection)
            left -= projection**2
    return score


def _l1(X: np.ndarray, y: np.ndarray, codes: np.ndarray | None, strength: float) -> np.ndarray:
    """Max |coefficient| over one-vs-rest L1 logistic fits (Lasso |coef| for regression)."""
    if codes is None:
        return np.abs(Lasso(alpha=strength, max_iter=2000).fit(X, y).coef_)
    classes = np.unique(codes)
    targets = [codes == c for c in classes] if len(classes) > 2 else [codes == classes[-1]]
    score = np.zeros(X.shape[1])
    for target in targets:
        model = LogisticRegression(l1_ratio=1.0, solver="liblinear", C=strength, max_iter=200,
                                   random_state=0)  # liblinear shuffles: fixed, not the global RNG
        with _LIBLINEAR:
            model.fit(X, target)
        score = np.maximum(score, np.abs(model.coef_[0]))
    return score


def _ridge(X: np.ndarray, y: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """Max |coefficient| over the classes of an L2 (multinomial) logistic regression, ``C = 1`` (ridge |coef|,
    ``alpha = 1``, for regression) on standardized ``X`` (n, p) -> (p,): dense joint evidence, many small
    effects (on LM embeddings it beat the random forest the sparse criteria lose to)."""
    if codes is None:
        return np.abs(Ridge(alpha=1.0).fit(X, y).coef_)
    with warnings.catch_warnings():  # a ranking, not a prediction: 300 iterations order the features
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=1.0, max_iter=300).fit(X, codes)
    return np.abs(model.coef_).max(axis=0)


def l1_strength(X: np.ndarray, y: np.ndarray, codes: np.ndarray | None, k: int) -> float:
    """Regularization keeping about ``2k`` features on (standardized) ``X``: ``C`` for logistic, ``alpha``
    for Lasso, found on a doubling grid from the value where the first feature enters."""
    want = min(2 * k, X.shape[1])
    if codes is None:
        alpha = np.abs(X.T @ (y - y.mean())).max() / len(y)
        for _ in range(12):
            alpha /= 2
            if (_l1(X, y, None, alpha) > 0).sum() >= want:
                break
        return float(alpha)
    C = l1_min_c(X, codes == codes[0], loss="log")
    for _ in range(12):
        C *= 2
        if (_l1(X, y, codes, C) > 0).sum() >= want:
            break
    return float(C)


def _bins(y: np.ndarray, n_bins: int = 5) -> np.ndarray:
    """Quantile bins of a continuous target (0..n_bins-1), the classes of ``stepwise`` for regression."""
    edges = np.quantile(y, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.unique(np.searchsorted(edges, y, side="right"), return_inverse=True)[1]


def _trees(X: np.ndarray, y: np.ndarray, codes: np.ndarray | None, seed: int) -> np.ndarray:
    """Impurity importance of 50 extremely randomized trees (on planted XOR their top two are the XOR pair
    3x as often as a 100-tree random forest's, and they need no split search)."""
    kind = ExtraTreesClassifier if codes is not None else ExtraTreesRegressor
    model = kind(n_estimators=50, max_features="sqrt", min_samples_leaf=2, random_state=seed, n_jobs=1)
    return model.fit(X, codes if codes is not None else y).feature_importances_


def l1_pool(X: np.ndarray, anova: np.ndarray, k: int) -> np.ndarray:
    """Features the stepwise, L1 and group criteria see (sorted indices): all up to ``L1_POOL``; else the
    ``L1_POOL`` best by F and the features whose multiple correlation with the ``k`` best by F is significant
    (:func:`correlated`, Bonferroni over all the features; at most ``L1_POOL // 4`` of them, by R^2), on
    standardized ``X`` (n, p). A suppressor has no F of its own to speak of (on planted ``n_lt_p`` at 20,000
    features 4 of the 10 informative ones rank 3,000th to 13,000th by F) but stands out by its correlation with
    the strong features, label-free, the way :func:`stepwise`'s screen admits it."""
    n, p = X.shape
    if p <= L1_POOL:
        return np.arange(p)
    order = _order(anova)
    Q = np.linalg.qr(X[:, order[:k]])[0]  # (n, k) orthonormal basis of the k best
    r2 = ((Q.T @ X) ** 2).sum(0) / np.maximum((X**2).sum(0), 1e-300)  # (p,)
    rest = order[L1_POOL:]
    extra = rest[correlated(r2[rest], n, Q.shape[1], p)]
    extra = extra[np.argsort(-r2[extra], kind="stable")[:L1_POOL // 4]]  # bounded cost: at most 1.25x the pool
    return np.sort(np.concatenate([order[:L1_POOL], extra]))


def _anova(X: np.ndarray, y: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        anova = (f_classif(X, codes) if codes is not None else f_regression(X, y))[0]
    return np.nan_to_num(anova, nan=0.0)


def criterion_scores(X: np.ndarray, y: np.ndarray, codes: np.ndarray | None, strength: float, k: int,
                     seed: int, only: tuple[str, ...] | None = None, wanted: tuple[str, ...] = CRITERIA
                     ) -> dict[str, np.ndarray]:
    """Score (higher = better) of every feature under every criterion of ``wanted`` (or only under those of
    ``only`` and what they need), on standardized ``X`` (n, p)."""
    p = X.shape[1]
    anova = _anova(X, y, codes)
    tie = 1e-9 * anova / (anova.max() or 1.0)  # orders the features a sparse criterion leaves at 0
    mixed = only is None or bool({"union", "consensus"} & set(only))
    needed = BASE_CRITERIA if mixed else only
    scores = {"anova": anova}
    pool = l1_pool(X, anova, k)
    by_class = {c for c in CLASS_ONLY if (only is None or c in only) and codes is not None and c in wanted}
    if "stepwise" in needed:
        scores["stepwise"] = tie.copy()
        scores["stepwise"][pool] += stepwise(X[:, pool], codes if codes is not None else _bins(y), k, n_tests=p)
    if "l1" in needed:
        scores["l1"] = tie.copy()
        scores["l1"][pool] += _l1(X[:, pool], y, codes, strength)
    if "ridge" in (wanted if only is None else only):  # the pool, as l1
        scores["ridge"] = tie.copy()
        scores["ridge"][pool] += _ridge(X[:, pool], y, codes)
    if "group" in by_class:  # the pool, as l1
        scores["group"] = tie.copy()
        scores["group"][pool] += group_lasso(X[:, pool], codes, k)
    if "trees" in needed or "pairs" in by_class:
        scores["trees"] = _trees(X, y, codes, seed)
    if "pairs" in by_class:  # interactions (XOR)
        scores["pairs"] = pairs(X, codes, k, scores["trees"])
    if "markers" in by_class:  # every feature (see above)
        scores["markers"] = tie + markers(X, codes, k)
    if "graft" in by_class:  # class-balanced: macro-F1
        scores["graft"] = tie + graft(X, codes, k, balanced=True)
    if mixed:
        orders = [_order(scores[name]) for name in BASE_CRITERIA]
        scores["union"] = _interleave(orders, p)
        ranks = np.empty((len(orders), p))
        for i, order in enumerate(orders):
            ranks[i, order] = np.arange(p)
        scores["consensus"] = -ranks.mean(axis=0)
    return scores


def decorrelated_top(order: np.ndarray, X: np.ndarray, k: int, rho: float) -> np.ndarray:
    """First ``k`` features of ``order`` skipping any with |corr| >= rho to one already kept (X standardized)."""
    if rho >= 1.0:
        return order[:k]
    kept: list[int] = []
    n = len(X)
    for j in order:
        if not kept or np.abs(X[:, kept].T @ X[:, j]).max() / n < rho:
            kept.append(int(j))
            if len(kept) == k:
                break
    return np.array(kept, dtype=int)


def held_out_score(X_train, y_train, X_test, y_test, classification: bool, knn: bool = True) -> float:
    """Score of features on held-out samples: the better of a logistic regression and (``knn``) 15-nearest
    neighbours (macro-F1, so interactions such as XOR count too); ridge R² for regression."""
    if classification:
        if len(np.unique(y_train)) < 2:
            return 0.0
        scores = []
        models = [LogisticRegression(solver="newton-cholesky", max_iter=100)]
        for model in models + ([KNeighborsClassifier(min(15, len(y_train)))] if knn else []):
            scores.append(f1_score(y_test, model.fit(X_train, y_train).predict(X_test), average="macro"))
        return float(max(scores))
    return float(r2_score(y_test, Ridge(alpha=1.0).fit(X_train, y_train).predict(X_test)))


def paired_se(diff: np.ndarray) -> float:
    """Standard error of the mean of paired differences ``diff`` (r,) over resamples (0 for one)."""
    return float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0


def one_se_choice(scores: dict, order: list, margin: float = 1.0) -> object:
    """The first candidate of ``order`` whose mean held-out score is within ``margin`` standard errors of the
    best (the SE of the paired differences to the best over the same resamples), else the best."""
    means = {c: float(np.mean(v)) for c, v in scores.items()}
    best = max(order, key=lambda c: means[c])
    for candidate in order:
        diff = np.asarray(scores[best]) - np.asarray(scores[candidate])
        if means[best] - means[candidate] <= margin * paired_se(diff):
            return candidate
    return best


def resamples(y: np.ndarray, classification: bool, n_repeats: int, seed: int
              ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_repeats * N_FOLDS`` (fit, held-out) index pairs: repeated K-fold, stratified when every class has
    ``N_FOLDS`` members (fewer folds when there are fewer samples)."""
    out = []
    counts = np.unique(y, return_counts=True)[1]
    stratify = classification and counts.min() >= N_FOLDS
    folds = max(2, min(N_FOLDS, len(y) // 2))
    for repeat in range(n_repeats):
        splitter = (StratifiedKFold if stratify else KFold)(folds, shuffle=True, random_state=seed + repeat)
        out.extend(splitter.split(np.zeros(len(y)), y))
    return out


def stability_select(X: np.ndarray, y: np.ndarray, k: int, classification: bool, criteria: tuple[str, ...],
                     rhos: tuple[float, ...], n_repeats: int, seed: int, n_jobs: int | None = None
                     ) -> StabilityResult:
    """Choose (criterion, rho) on held-out folds and return stability scores; ``X`` (n, p) standardized;
    ``n_jobs`` threads over the resamples (joblib's convention: None is one, -1 every core); the result does not
    depend on it."""
    codes = np.unique(y, return_inverse=True)[1] if classification else None
    target = codes if classification else (y - y.mean()) / (y.std() or 1.0)
    p = X.shape[1]
    strength = l1_strength(X[:, l1_pool(X, _anova(X, target, codes), k)], target, codes, k)
    criteria = applicable(criteria, int(codes.max()) + 1 if classification else 0)
    candidates = [(c, r) for c in criteria for r in rhos if c not in SELF_FILTERED or r == max(rhos)]
    fallback = "l1" if classification else "anova"
    default = (DEFAULT if DEFAULT in criteria else fallback, max(rhos))
    if default in candidates:
        candidates.insert(0, candidates.pop(candidates.index(default)))
    held_out = {candidate: [] for candidate in candidates}
    counts = {candidate: np.zeros(p) for candidate in candidates}

    def one_resample(i: int, fit: np.ndarray, test: np.ndarray, among: list, only: tuple[str, ...] | None
                     ) -> dict:
        """(criterion, rho) of ``among`` -> (its top k on the fit part, its held-out score)."""
        X_fit = _standardize(X[fit])
        scores = criterion_scores(X_fit, target[fit], None if codes is None else codes[fit], strength, k,
                                  seed + i, only=only, wanted=criteria)
        seen: dict[bytes, float] = {}  # candidates often agree: score each distinct selection once
        out = {}
        for candidate in among:
            top = decorrelated_top(_order(scores[candidate[0]]), X_fit, k, candidate[1])
            key = np.sort(top).tobytes()
            if key not in seen:
                seen[key] = held_out_score(X[np.ix_(fit, top)], target[fit], X[np.ix_(test, top)],
                                            target[test], classification)
            out[candidate] = (top, seen[key])
        return out

    def run(among: list, only: tuple[str, ...] | None, first: int) -> list[dict]:
        """:func:`one_resample` over ``n_repeats`` repeats from repeat ``first``, in resample order."""
        splits = resamples(target, classification, n_repeats, seed + first)
        start = first * len(splits) // n_repeats  # resample i draws its trees with seed + i
        # threads: the trees, NumPy and liblinear release the GIL; results come back in resample order
        return Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(one_resample)(start + i, fit, test, among, only) for i, (fit, test) in enumerate(splits))

    for out in run(candidates, None, 0):
        for candidate, (top, score) in out.items():
            counts[candidate][top] += 1
            held_out[candidate].append(score)
    means = {candidate: float(np.mean(v)) for candidate, v in held_out.items()}
    dense = (DENSE, max(rhos))
    if dense in candidates and means[dense] > means[candidates[0]]:  # the dense model is the better default
        candidates.insert(0, candidates.pop(candidates.index(dense)))
    criterion, rho = one_se_choice(held_out, candidates, RIVAL_SE)
    pair = [candidates[0], (criterion, rho)]
    lead = np.subtract(held_out[pair[1]], held_out[pair[0]])  # (resamples,) the rival over the default
    if pair[1] != pair[0] and lead.mean() <= SURE_SE * paired_se(lead):  # confirm on as many fresh resamples
        more = run(pair, (pair[0][0], criterion), n_repeats)
        lead = np.concatenate([lead, [out[pair[1]][1] - out[pair[0]][1] for out in more]])
        if lead.mean() <= RIVAL_SE * paired_se(lead):
            criterion, rho = pair[0]
    frequency = counts[criterion, rho] / len(held_out[criterion, rho])
    # refit on all the training samples; frequency only breaks ties (and serves a threshold)
    full = criterion_scores(X, target, codes, strength, k, seed, only=(criterion,))[criterion]
    full = -np.nan_to_num(full, nan=-np.inf)
    order = np.lexsort((full, -frequency) if criterion in STABLE_ORDER else (-frequency, full))
    top = decorrelated_top(order, X, k, rho)
    order = np.concatenate([top, order[~np.isin(order, top)]])
    return StabilityResult(frequency, order, criterion, rho,
                           {f"{c}@{r:g}": m for (c, r), m in means.items()})
