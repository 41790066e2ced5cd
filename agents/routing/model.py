"""A trained text → agent model for the star hub, as a versioned artifact on disk.

The model is a scikit-learn pipeline: TF-IDF over word 1-2-grams and character 2-5-grams
(inside word boundaries, so "pasword" still shares most of its grams with "password"),
into a linear SVM whose scores are calibrated to probabilities (sigmoid, 5 folds).
Measured on the hand-written held-out set (`bench/router_bench.py`), it matched logistic
regression at its best and was steadier: logistic regression's probabilities, and so
its accuracy at a fixed threshold, swing with its regularisation (0.81-0.91 at p≥0.5
for C 5-100; the SVM 0.88-0.90 for C 0.3-2). Both are offered (`estimator=`).

One text is scored by `agents.routing._fast` (the same arithmetic from the fitted
parameters, checked against `predict_proba` when the model is built): about 0.3 ms per
request where scikit-learn's per-call path took 4-15 ms.

scikit-learn is imported only when a model is trained or loaded, so a process that
routes by keywords never pays for it. An artifact is a joblib (pickle) file: load only
artifacts this deployment wrote (`agentbus router train`), never one from a stranger.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from agents.errors import ConfigError
from agents.routing._fast import compile_pipeline

__all__ = [
    "ARTIFACT_SUFFIX",
    "Estimator",
    "LabelledText",
    "ModelInfo",
    "RouterModel",
    "RouterModelError",
    "latest_model_path",
    "train_model",
]

ARTIFACT_SUFFIX = ".joblib"
_FORMAT = 1  # bump when the artifact's layout changes; load refuses other formats

Estimator = Literal["svm", "logreg"]

LabelledText = tuple[str, str]
"""(request text, the agent that should answer it)."""


class RouterModelError(ConfigError):
    """A router model cannot be trained, saved or loaded; says which file and why."""


@dataclass(frozen=True)
class ModelInfo:
    """What a trained model is and what it was trained on; saved beside the pipeline."""

    version: str
    """`<UTC training time>-<content hash>`: sorts by time, and two trainings on the same
    data with the same settings share the hash."""
    trained_at: str
    """ISO 8601, UTC."""
    system: str
    labels: tuple[str, ...]
    examples: int
    per_agent: Mapping[str, int]
    sources: Mapping[str, int]
    """Examples per source, e.g. {"declared": 320, "history": 1200}."""
    estimator: Estimator
    eval_accuracy: float | None = None
    """Accuracy on a held-out set the model never saw; None until evaluated."""
    eval_examples: int = 0
    held_out_excluded: int = 0
    """Training texts dropped because the held-out set has them (see `train_model`)."""
    library: Mapping[str, str] = field(default_factory=dict)
    """Versions of the libraries that trained it (a pickle loads best on the same ones)."""


class RouterModel:
    """A trained pipeline and its `ModelInfo`; `probabilities` is the one query."""

    def __init__(self, pipeline: Any, info: ModelInfo) -> None:
        self._pipeline = pipeline
        self.info = info
        self._labels: tuple[str, ...] = tuple(str(label) for label in pipeline.classes_)
        # Same numbers as predict_proba at a fraction of the cost per text (see _fast).
        self._fast = compile_pipeline(pipeline)

    @property
    def version(self) -> str:
        return self.info.version

    @property
    def labels(self) -> tuple[str, ...]:
        """The agents the model can choose, in the order of `probabilities`."""
        return self._labels

    def probabilities(self, text: str) -> tuple[float, ...]:
        """Calibrated probability of each of `labels` for `text` (they sum to 1)."""
        if self._fast is not None:
            return self._fast(text)
        row = self._pipeline.predict_proba([text])[0]
        return tuple(float(p) for p in row)

    @property
    def compiled(self) -> bool:
        """Whether `probabilities` takes the fast path (else scikit-learn's per call)."""
        return self._fast is not None

    def with_evaluation(self, accuracy: float, examples: int) -> RouterModel:
        """This model with its held-out accuracy recorded (the version does not change)."""
        info = replace(self.info, eval_accuracy=round(accuracy, 4), eval_examples=examples)
        return RouterModel(self._pipeline, info)

    def save(self, directory: Path) -> Path:
        """Write the artifact as `<directory>/<system>/<version>.joblib`; returns the path.

        Written to a temporary name and renamed, so a router discovering models never
        loads a half-written file.
        """
        return self.write(directory / self.info.system / f"{self.info.version}{ARTIFACT_SUFFIX}")

    def write(self, path: Path) -> Path:
        """Write the artifact to exactly `path` (atomically, as `save` does)."""
        import joblib  # noqa: PLC0415 — heavy, needed only here

        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        payload = {"format": _FORMAT, "info": asdict(self.info), "pipeline": self._pipeline}
        joblib.dump(payload, partial, compress=3)
        partial.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> RouterModel:
        """Read an artifact written by `save`; `RouterModelError` names the file on failure."""
        import joblib  # noqa: PLC0415 — heavy, needed only here

        try:
            payload = joblib.load(path)
        except FileNotFoundError as exc:
            raise RouterModelError(f"router model {path} does not exist") from exc
        except Exception as exc:  # unpickling can fail in many ways; all mean "unusable"
            raise RouterModelError(
                f"router model {path} cannot be loaded ({type(exc).__name__}: {exc}); "
                "retrain it with `agentbus router train`"
            ) from exc
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise RouterModelError(
                f"{path} is not a router model of format {_FORMAT}; retrain it with "
                "`agentbus router train`"
            )
        info = dict(payload["info"])
        info["labels"] = tuple(info["labels"])
        return cls(payload["pipeline"], ModelInfo(**info))


def latest_model_path(directory: Path, system: str) -> Path | None:
    """The newest artifact for `system` under `directory` (as laid out by `save`)."""
    folder = directory / system
    if not folder.is_dir():
        return None
    found = sorted(folder.glob(f"*{ARTIFACT_SUFFIX}"))
    return found[-1] if found else None


def _pipeline(estimator: Estimator, smallest_class: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV  # noqa: PLC0415
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import FeatureUnion, Pipeline  # noqa: PLC0415
    from sklearn.svm import LinearSVC  # noqa: PLC0415

    features = FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(
                    analyzer="word", ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode"
                ),
            ),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(2, 5),
                    sublinear_tf=True,
                    strip_accents="unicode",
                ),
            ),
        ]
    )
    if estimator == "logreg":
        model: Any = LogisticRegression(C=20.0, max_iter=2000)
    else:
        # Sigmoid calibration over stratified folds: few examples per agent make
        # isotonic calibration overfit. Folds are capped by the smallest agent's count.
        model = CalibratedClassifierCV(
            LinearSVC(C=1.0, random_state=0), cv=min(5, smallest_class), method="sigmoid"
        )
    return Pipeline([("features", features), ("classify", model)])


def _content_hash(examples: Sequence[LabelledText], estimator: str) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": _FORMAT, "estimator": estimator}).encode())
    for text, agent in sorted(examples):
        digest.update(json.dumps([agent, text]).encode())
    return digest.hexdigest()[:12]


def train_model(
    sources: Mapping[str, Iterable[LabelledText]],
    *,
    system: str,
    estimator: Estimator = "svm",
    now: dt.datetime | None = None,
    exclude: Iterable[str] = (),
) -> RouterModel:
    """Fit a model on labelled texts from named `sources` (e.g. "declared", "history").

    A text seen more than once keeps the label of its first source (so an agent's
    declared examples outrank routed history). Texts in `exclude` (the held-out set:
    its requests may have been routed in production, and so be in the history) are
    never learned, whatever their case and spacing, so the held-out accuracy stays
    honest. Needs at least two agents with at least two examples each;
    `RouterModelError` otherwise.
    """
    import sklearn  # noqa: PLC0415

    banned = {" ".join(text.lower().split()) for text in exclude}
    seen: dict[str, str] = {}
    counts: Counter[str] = Counter()
    dropped: set[str] = set()
    for source, pairs in sources.items():
        for text, agent in pairs:
            key = " ".join(text.split())
            if key.lower() in banned:
                dropped.add(key.lower())
                continue
            if key and key not in seen:
                seen[key] = agent
                counts[source] += 1
    examples = sorted(seen.items())
    per_agent = Counter(agent for _, agent in examples)
    if len(per_agent) < 2 or min(per_agent.values()) < 2:
        raise RouterModelError(
            f"system {system!r}: a router model needs examples for at least two agents, two "
            f"or more each; have {dict(per_agent) or 'none'} (declare `examples` on the agents)"
        )
    texts = [text for text, _ in examples]
    labels = [agent for _, agent in examples]
    pipeline = _pipeline(estimator, min(per_agent.values()))
    pipeline.fit(texts, labels)
    at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    info = ModelInfo(
        version=f"{at:%Y%m%dT%H%M%SZ}-{_content_hash(examples, estimator)}",
        trained_at=at.isoformat(timespec="seconds"),
        system=system,
        labels=tuple(str(label) for label in pipeline.classes_),
        examples=len(examples),
        per_agent=dict(sorted(per_agent.items())),
        sources={source: counts[source] for source in sources},
        estimator=estimator,
        held_out_excluded=len(dropped),
        library={"scikit-learn": sklearn.__version__},
    )
    return RouterModel(pipeline, info)
