"""The keyword router: which agent gets a request, and the reason it gives."""

from __future__ import annotations

import pytest

from agents import (
    AgentSpec,
    AgentSystem,
    KeywordClassifier,
    UnknownAgent,
    fintech_system,
    reference_workload,
)
from agents.routing import stem


@pytest.fixture(scope="module")
def router() -> KeywordClassifier:
    return KeywordClassifier(fintech_system())


def test_best_matching_agent_wins_and_reason_names_the_words(router: KeywordClassifier) -> None:
    decision = router.classify("I need a refund, my card fee was wrong on this payment")

    assert decision.agent == "support"
    assert decision.method == "keyword"
    assert decision.matched == ("refund", "card", "fee")
    assert decision.reason == (
        "matched 'refund', 'card', 'fee' → support (3 hits; next best transactions: 1)"
    )
    assert decision.scores == {"support": 3, "transactions": 1, "reports": 0}


def test_two_hits_reason_matches_the_documented_form(router: KeywordClassifier) -> None:
    decision = router.classify("refund to my card")

    assert decision.reason == "matched 'refund', 'card' → support (2 hits; no other agent matched)"


def test_inflections_and_case_are_ignored(router: KeywordClassifier) -> None:
    decision = router.classify("REFUNDS were Refunded twice?! Charged, CHARGING...")

    assert decision.agent == "support"
    assert decision.matched == ("refund",)
    assert decision.scores["support"] == 2
    assert decision.scores["transactions"] == 2


def test_tie_is_broken_by_declaration_order_and_says_so(router: KeywordClassifier) -> None:
    decision = router.classify("Can I dispute a charge?")

    assert decision.agent == "support"  # declared before transactions
    assert decision.reason == (
        "matched 'dispute' → support (1 hit; tied with transactions: 1, declared first wins)"
    )


def test_nothing_matched_goes_to_the_default_agent(router: KeywordClassifier) -> None:
    decision = router.classify("What are your opening hours on public holidays?")

    assert decision.agent == "general"
    assert decision.method == "fallback"
    assert decision.confidence == 0.0
    assert decision.reason == "no keyword matched → general (fallback)"
    assert decision.matched == ()


def test_empty_text_goes_to_the_default_agent(router: KeywordClassifier) -> None:
    assert router.classify("").agent == "general"


def test_confidence_never_claims_certainty_from_keywords(router: KeywordClassifier) -> None:
    assert router.classify("refund").confidence == 0.5
    assert router.classify("refund card fee").confidence == 0.75
    assert router.classify("dispute a charge").confidence == pytest.approx(0.333)


def test_explicit_target_bypasses_classification(router: KeywordClassifier) -> None:
    decision = router.decide("I need a refund on my card", "reports")

    assert decision.agent == "reports"
    assert decision.method == "explicit"
    assert decision.confidence == 1.0
    assert decision.reason == "explicit target_agent=reports"


@pytest.mark.parametrize("target", [None, "", "  "])
def test_unset_or_empty_target_is_classified(router: KeywordClassifier, target: str | None) -> None:
    assert router.decide("monthly statement please", target).agent == "reports"


def test_unknown_explicit_target_raises_with_the_known_agents(router: KeywordClassifier) -> None:
    with pytest.raises(UnknownAgent) as caught:
        router.decide("refund", "billing")

    message = str(caught.value)
    assert "'billing'" in message
    assert "support, transactions, reports, general" in message
    assert caught.value.known[:4] == ("support", "transactions", "reports", "general")


def test_decisions_are_deterministic_across_instances() -> None:
    texts = [r["input"] for r in reference_workload(200, seed=5)]
    first = KeywordClassifier(fintech_system())
    second = KeywordClassifier(fintech_system())

    assert [first.classify(t) for t in texts] == [second.classify(t) for t in texts]


def test_reference_workload_is_routed_to_the_expected_agent(router: KeywordClassifier) -> None:
    workload = reference_workload(2000, seed=11)
    decisions = [router.decide(r["input"], r["target_agent"]) for r in workload]
    correct = sum(
        d.agent == r["metadata"]["expected_agent"] for d, r in zip(decisions, workload, strict=True)
    )

    assert correct / len(workload) >= 0.9
    for decision, request in zip(decisions, workload, strict=True):
        if request["metadata"]["expected_agent"] == "general":
            assert decision.method == "fallback", request["input"]


def test_agents_without_keywords_are_not_scored_and_default_may_have_keywords() -> None:
    prompt = "You help."
    system = AgentSystem(
        name="tiny",
        agents=(
            AgentSpec(name="silent", description="", model="m", prompt=prompt, tier="small"),
            AgentSpec(
                name="helpdesk",
                description="",
                model="m",
                prompt=prompt,
                tier="small",
                keywords=("help",),
            ),
        ),
        default_agent="helpdesk",
    )
    router = KeywordClassifier(system)

    assert router.classify("help me").scores == {"helpdesk": 1}
    assert router.classify("help me").method == "keyword"
    assert router.classify("hello").agent == "helpdesk"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("refunds", "refund"),
        ("refunded", "refund"),
        ("charges", "charg"),
        ("charge", "charg"),
        ("transferred", "transfer"),
        ("billed", "bill"),
        ("summaries", "summary"),
        ("access", "access"),
        ("status", "status"),
        ("monthly", "monthly"),  # derivations are kept: "month" is not evidence of a report
        ("fee", "fee"),
    ],
)
def test_stemming(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_the_routing_package_keeps_its_public_names() -> None:
    from agents import routing  # noqa: PLC0415 — the module object is what is pinned

    assert set(routing.__all__) >= {
        "Classifier",
        "KeywordClassifier",
        "LearnedClassifier",
        "RouterModel",
        "RoutingDecision",
        "RoutingMethod",
        "evaluate",
        "stem",
        "train_model",
    }
    assert all(hasattr(routing, name) for name in routing.__all__)
    # A keyword decision never names a model.
    assert KeywordClassifier(fintech_system()).classify("refund").model_version is None
