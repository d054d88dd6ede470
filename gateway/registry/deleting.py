"""What a request handler needs to delete manifests in the registry on someone's behalf: the
registry with a token of the gateway's own per repository (when it verifies tokens), and who
deletes for the delete events (this process's recorder and manifest cache)."""

from __future__ import annotations

from aiohttp import web

from gateway import keys
from gateway.auth.scopes import Scope
from gateway.public import service_name
from gateway.registry.purge import Actor as DeleteRecorder
from gateway.registry.purge import Upstream


def upstream_for(request: web.Request, actor: str) -> Upstream:
    app = request.config_dict
    settings = app[keys.SETTINGS]
    service = service_name(request, settings)

    def headers_for(repository: str) -> dict[str, str]:
        if not settings.upstream_forward_token:
            return {}
        issued = app[keys.ISSUER].issue(actor, service, [Scope("repository", repository, ("pull", "delete"))])
        return {"Authorization": f"Bearer {issued.token}"}

    return Upstream(app[keys.UPSTREAM], settings.upstream_url.origin(), headers_for)


def recorder_for(request: web.Request, actor: str) -> DeleteRecorder:
    app = request.config_dict
    events, cache = app[keys.EVENTS], app[keys.MANIFEST_CACHE]
    return DeleteRecorder(actor, events.source_addr, events.instance_id, cache.deleted)
