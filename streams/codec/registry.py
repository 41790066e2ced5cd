"""A small synchronous client for the two Confluent schema-registry calls the codec needs."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from streams.codec.errors import RegistryError

__all__ = ["SchemaRegistryClient"]

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryClient:
    """Registers and fetches Avro schemas in a Confluent-compatible schema registry.

    Credentials in the URL's userinfo (``https://user:pass@host``) become HTTP
    basic auth; they are stripped from ``url`` and from every error message.
    Blocking calls: use it at startup or off the event loop. Close it (or use
    ``with``) to release its connections.
    """

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("schema registry URL must be http(s)://host[:port][/path]")
        auth = httpx.BasicAuth(parsed.username, parsed.password) if parsed.userinfo else None
        self.url = str(parsed.copy_with(username=None, password=None)).rstrip("/")
        """The registry's base URL, without credentials."""
        self._client = httpx.Client(
            base_url=self.url,
            auth=auth,
            timeout=timeout,
            headers={"Accept": _CONTENT_TYPE},
        )

    def register(self, subject: str, schema_json: str) -> int:
        """Register ``schema_json`` under ``subject`` (idempotent) and return its global id."""
        body = self._call(
            "POST",
            f"/subjects/{quote(subject, safe='')}/versions",
            json={"schema": schema_json},
            headers={"Content-Type": _CONTENT_TYPE},
        )
        schema_id = body.get("id")
        if not isinstance(schema_id, int):
            raise RegistryError(f"register {subject}: answer has no integer id", url=self.url)
        return schema_id

    def get_schema(self, schema_id: int) -> dict[str, Any]:
        """The registry's record for ``schema_id``: ``{"schema": "<json>", ...}``.

        A missing id raises ``RegistryError`` with ``status == 404``.
        """
        body = self._call("GET", f"/schemas/ids/{int(schema_id)}")
        if not isinstance(body.get("schema"), str):
            raise RegistryError(f"schema id {schema_id}: answer has no schema", url=self.url)
        return body

    def close(self) -> None:
        """Release pooled connections; idempotent."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SchemaRegistryClient({self.url!r})"

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        what = f"{method} {path}"
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RegistryError(f"{what}: {type(exc).__name__}: {exc}", url=self.url) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_error:
            message = body.get("message") if isinstance(body, dict) else None
            raise RegistryError(
                f"{what}: {message or response.reason_phrase}",
                url=self.url,
                status=response.status_code,
            )
        if not isinstance(body, dict):
            raise RegistryError(f"{what}: answer is not a JSON object", url=self.url)
        return body
