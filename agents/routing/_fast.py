"""The trained pipeline's arithmetic for one text at a time, without scikit-learn's
per-call overhead.

scikit-learn is built for batches: `predict_proba` on a single text validates inputs
at every step, hstacks sparse matrices and, for a calibrated SVM, repeats that per fold;
measured at 4-15 ms per request, most of a router's time. The hub routes one request at
a time, so this module reads the fitted parameters out once (vocabularies, idf, linear
weights, sigmoid calibrators) and does the same sums with a dictionary lookup per n-gram
and one small dense product. `compile_pipeline` checks itself against the pipeline on
probe texts and returns None when anything differs (another scikit-learn layout, a binary
problem), in which case the model falls back to `predict_proba`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Scorer", "compile_pipeline"]

Scorer = Callable[[str], tuple[float, ...]]
"""Text → probability per class, in the pipeline's `classes_` order."""

_PROBES = (
    "",
    "hello",
    "I forgot my password",
    "how much did I spend last month",
    "there is a payment I do not recognise",
    "¿dónde está mi dinero? Ünïcödé",
)
_TOLERANCE = 1e-9

FloatArray = npt.NDArray[np.float64]


class _Features:
    """TF-IDF parts of a FeatureUnion: (analyzer, vocabulary, idf, column offset)."""

    def __init__(self, union: Any) -> None:
        self.parts: list[tuple[Callable[[str], list[str]], dict[str, int], FloatArray, int]] = []
        offset = 0
        for _, vectorizer in union.transformer_list:
            if not (vectorizer.sublinear_tf and vectorizer.norm == "l2" and vectorizer.use_idf):
                raise ValueError("only sublinear, l2-normalised tf-idf is compiled")
            idf = np.asarray(vectorizer.idf_, dtype=np.float64)
            vocabulary = {str(gram): int(i) for gram, i in vectorizer.vocabulary_.items()}
            self.parts.append((vectorizer.build_analyzer(), vocabulary, idf, offset))
            offset += len(idf)
        self.width = offset

    def __call__(self, text: str) -> tuple[npt.NDArray[np.intp], FloatArray]:
        columns: list[npt.NDArray[np.intp]] = []
        values: list[FloatArray] = []
        for analyze, vocabulary, idf, offset in self.parts:
            # map() keeps the per-gram lookup in C; the arithmetic is on arrays.
            counts = Counter(i for i in map(vocabulary.get, analyze(text)) if i is not None)
            if not counts:
                continue
            index = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
            n = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            weights = (1.0 + np.log(n)) * idf[index]
            columns.append(index + offset)
            values.append(weights / math.sqrt(float(weights @ weights)))
        if not columns:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64)
        return np.concatenate(columns), np.concatenate(values)


def _logistic(model: Any, features: _Features) -> Scorer:
    weights = np.ascontiguousarray(np.asarray(model.coef_, dtype=np.float64).T)
    intercept = np.asarray(model.intercept_, dtype=np.float64)

    def score(text: str) -> tuple[float, ...]:
        columns, values = features(text)
        z = values @ weights[columns] + intercept
        e = np.exp(z - z.max())
        return tuple(float(p) for p in e / e.sum())

    return score


def _calibrated_svm(model: Any, features: _Features) -> Scorer:
    folds = model.calibrated_classifiers_
    classes = list(model.classes_)
    for fold in folds:
        if list(fold.estimator.classes_) != classes or fold.method != "sigmoid":
            raise ValueError("a fold lacks a class or is not sigmoid-calibrated")
    # Features as rows, (fold, class) as columns: a request gathers only its few rows.
    n = len(classes)
    weights = np.ascontiguousarray(
        np.concatenate([np.asarray(f.estimator.coef_, dtype=np.float64) for f in folds]).T
    )
    intercept = np.stack([np.asarray(f.estimator.intercept_, dtype=np.float64) for f in folds])
    a = np.array([[c.a_ for c in f.calibrators] for f in folds], dtype=np.float64)
    b = np.array([[c.b_ for c in f.calibrators] for f in folds], dtype=np.float64)
    uniform = np.full(len(classes), 1.0 / len(classes))

    def score(text: str) -> tuple[float, ...]:
        columns, values = features(text)
        decision = (values @ weights[columns]).reshape(len(folds), n) + intercept
        proba = 1.0 / (1.0 + np.exp(a * decision + b))
        total = proba.sum(axis=1, keepdims=True)
        proba = np.where(total != 0, proba / np.where(total != 0, total, 1.0), uniform)
        mean = proba.mean(axis=0)
        return tuple(float(p) for p in mean)

    return score


def compile_pipeline(pipeline: Any, probes: Sequence[str] = _PROBES) -> Scorer | None:
    """A fast scorer equal to `pipeline.predict_proba` on `probes`, or None."""
    try:
        features = _Features(pipeline.named_steps["features"])
        model = pipeline.named_steps["classify"]
        if len(model.classes_) < 3:
            return None  # binary problems store one column; not worth a second path
        kind = type(model).__name__
        if kind == "LogisticRegression":
            scorer = _logistic(model, features)
        elif kind == "CalibratedClassifierCV":
            scorer = _calibrated_svm(model, features)
        else:
            return None
    except (AttributeError, KeyError, TypeError, ValueError):
        return None  # a layout this module does not know: the slow path is still right
    expected = pipeline.predict_proba(list(probes))
    for text, row in zip(probes, expected, strict=True):
        if np.max(np.abs(np.asarray(scorer(text)) - row)) > _TOLERANCE:
            return None
    return scorer
