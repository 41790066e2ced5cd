"""The star hub's classifiers: which agent should answer a request, and why.

`KeywordClassifier` counts keyword hits (simple, explainable, no training);
`LearnedClassifier` asks a trained `RouterModel` and keeps agents' `route_overrides`
above it. Both satisfy `Classifier` and return a `RoutingDecision` whose `reason` a
trace can show. `evaluate` measures either on a labelled held-out set.
"""

from agents.routing.decision import Classifier, RoutingDecision, RoutingMethod
from agents.routing.evaluation import AgentScore, Evaluation, evaluate
from agents.routing.keyword import KeywordClassifier, explicit_decision, stem
from agents.routing.learned import (
    DEFAULT_MIN_CONFIDENCE,
    LearnedClassifier,
    OverrideRule,
    declared_examples,
)
from agents.routing.model import (
    Estimator,
    LabelledText,
    ModelInfo,
    RouterModel,
    RouterModelError,
    latest_model_path,
    train_model,
)

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "AgentScore",
    "Classifier",
    "Estimator",
    "Evaluation",
    "KeywordClassifier",
    "LabelledText",
    "LearnedClassifier",
    "ModelInfo",
    "OverrideRule",
    "RouterModel",
    "RouterModelError",
    "RoutingDecision",
    "RoutingMethod",
    "declared_examples",
    "evaluate",
    "explicit_decision",
    "latest_model_path",
    "stem",
    "train_model",
]
