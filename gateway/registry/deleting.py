"""What a request handler needs to delete manifests in the registry on someone's behalf: the
registry with a token of the gateway's own per repository (when it verifies tokens), and who
deletes for the delete events (this process's recorder and manifest cache)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.helpers import ChainMapProxy

from gateway import keys
from gateway.auth.scopes import Scope
from gateway.public import service_name
from gateway.registry.purge import Actor as DeleteRecorder
from gateway.registry.purge import Upstream


def upstream_for(request: web.Request, actor: str) -> Upstream:
    app = request.config_dict
    return upstream_of(app, actor, service_name(request, app[keys.SETTINGS]))


def upstream_of(app: web.Application | ChainMapProxy, actor: str, service: str) -> Upstream:
    """The registry as `upstream_for` reaches it, for work that no request started (a sweep)."""
    settings = app[keys.SETTINGS]

    def headers_for(repository: str) -> dict[str, str]:
        if not settings.upstream_forward_token:
            return {}
        issued = app[keys.ISSUER].issue(actor, service, [Scope("repository", repository, ("pull", "delete"))])
        return {"Authorization": f"Bearer {issued.token}"}

    return Upstream(app[keys.UPSTREAM], settings.upstream_url.origin(), headers_for)


def recorder_for(request: web.Request, actor: str) -> DeleteRecorder:
    return recorder_of(request.config_dict, actor)


def recorder_of(app: web.Application | ChainMapProxy, actor: str) -> DeleteRecorder:
    events, cache = app[keys.EVENTS], app[keys.MANIFEST_CACHE]
    return DeleteRecorder(actor, events.source_addr, events.instance_id, cache.deleted)
