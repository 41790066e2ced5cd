"""Errors of the contracts package.

A model reply that breaks its agent's output contract is a `ContractViolation`: a
`MalformedOutput`, so invocation records it (outcome "malformed"), retries it, and in
the end dead-letters it and tries the fallback agent, like any other unusable output.
Models that cannot be rendered or edges that name unknown fields are `ConfigError`s
(from `agents.errors`): usage errors that no retry fixes.
"""

from __future__ import annotations

from agents.errors import MalformedOutput

__all__ = ["ContractViolation"]


class ContractViolation(MalformedOutput):
    """An agent's output does not satisfy its declared output model; retriable.

    `path` names the first offending field as a dotted path with list indices
    (`flagged[0].amount`), "" when the document as a whole is wrong (not JSON, empty);
    `detail` is what is wrong there; `violations` lists every `(path, detail)` found.
    `output` keeps the offending text so the dead letter shows it.
    """

    def __init__(
        self,
        *,
        contract: str,
        path: str,
        detail: str,
        violations: tuple[tuple[str, str], ...] = (),
        output: str | None = None,
        agent: str | None = None,
        model: str | None = None,
    ) -> None:
        where = f" at {path}" if path else ""
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        super().__init__(
            f"output does not satisfy {contract}{where}: {detail}{more}",
            output=output,
            agent=agent,
            model=model,
        )
        self.contract = contract
        self.path = path
        self.detail = detail
        self.violations = violations or ((path, detail),)
