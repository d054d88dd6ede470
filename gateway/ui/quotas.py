"""A namespace's quota on its page: the storage its manifests hold and its quota for whoever sees
the namespace, and for admins the form that sets or lifts it (gateway/services/quotas.py decides)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from yarl import URL

from gateway.auth.permissions import Actor
from gateway.services.quotas import NO_QUOTA, quota_of, set_quota
from gateway.ui.context import services
from gateway.ui.manage.common import done, flash, text
from gateway.ui.pages import require_signed_in
from gateway.ui.sessions import UI_PATH


def namespace_path(name: str) -> str:
    return f"{UI_PATH}/namespaces/{URL.build(path=name).raw_path}"


async def quota_context(request: web.Request, actor: Actor, name: str) -> dict[str, Any]:
    """What the namespace page shows of its quota (the namespace was found visible already)."""
    quota = await quota_of(services(request), actor, name)
    return {
        "quota": quota, "may_set_quota": actor.admin, "flash": flash(request),
        "quota_value": str(quota.quota) if quota.quota is not None else NO_QUOTA,
    }


async def change(request: web.Request) -> web.Response:
    """POST /namespaces/NAME/quota: set (`10GiB`) or lift (`none`) it; admins only."""
    who = require_signed_in(request)
    name = request.match_info["namespace"]
    quota = await set_quota(services(request), who.actor, name, text(await request.post(), "quota"))
    raise done(request, namespace_path(name), f"Quota of {name}: {quota.text}.")
