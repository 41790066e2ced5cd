"""Publish the dashboards to a Grafana through its HTTP API (grafana-client, the
optional ``agentbus[grafana]`` extra): into one folder, created when missing,
overwriting the previous version of each dashboard (same uid)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.dashboards.errors import PushError
from streams.dashboards.model import Dashboard

__all__ = ["Published", "push_dashboards"]

_FOLDER_UID = "agentbus"


@dataclass(frozen=True)
class Published:
    """One dashboard as Grafana stored it."""

    uid: str
    title: str
    url: str
    version: int


def push_dashboards(
    dashboards: list[Dashboard],
    *,
    grafana_url: str,
    token: str,
    folder: str = "agentbus",
    timeout: float = 10.0,
) -> list[Published]:
    """Create or update each dashboard in ``folder``; the token is a Grafana service
    account token (Editor). Raises :class:`PushError` naming the dashboard and Grafana's
    answer; the token never appears in it."""
    try:
        from grafana_client.api import GrafanaApi  # noqa: PLC0415  # optional extra, imported on use
        from grafana_client.client import GrafanaException  # noqa: PLC0415
    except ImportError as exc:
        raise PushError("publishing needs grafana-client: pip install 'agentbus[grafana]'") from exc
    import niquests  # noqa: PLC0415  # grafana-client's HTTP library, present with it

    api = GrafanaApi.from_url(grafana_url, credential=token, timeout=timeout)
    where = f"Grafana at {grafana_url}"
    try:
        folder_uid = _ensure_folder(api, folder)
        published = []
        for dashboard in dashboards:
            answer: dict[str, Any] = api.dashboard.update_dashboard(
                {
                    "dashboard": {**dashboard.to_json(), "id": None},
                    "folderUid": folder_uid,
                    "overwrite": True,
                    "message": "agentbus dashboards push",
                }
            )
            published.append(
                Published(
                    str(answer.get("uid", dashboard.uid)),
                    dashboard.title,
                    str(answer.get("url", "")),
                    int(answer.get("version", 0)),
                )
            )
    except GrafanaException as exc:
        raise PushError(f"{where} refused the push: {exc.message}") from exc
    except niquests.exceptions.RequestException as exc:
        raise PushError(f"{where} did not answer: {type(exc).__name__}") from exc
    return published


def _ensure_folder(api: Any, title: str) -> str:
    for existing in api.folder.get_all_folders():
        if existing.get("title") == title:
            return str(existing["uid"])
    uid = _FOLDER_UID if title == "agentbus" else None
    created = api.folder.create_folder(title, uid=uid)
    return str(created["uid"])
