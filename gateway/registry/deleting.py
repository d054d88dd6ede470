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
    return upstream_of(request.config_dict, actor, service_name(request, request.config_dict[keys.SETTINGS]))


AppObjects = web.Application | ChainMapProxy  # the application, or a request's view of it


def upstream_of(app: AppObjects, actor: str, service: str | None = None) -> Upstream:
    """The registry for work without a request (a scheduled retention run): the token audience
    is `service`, else the configured one, else the public URL's host."""
    settings = app[keys.SETTINGS]
    public = settings.public_url
    audience = service or settings.service or (public.host_port_subcomponent if public is not None else None) or ""

    def headers_for(repository: str) -> dict[str, str]:
        if not settings.upstream_forward_token:
            return {}
        issued = app[keys.ISSUER].issue(actor, audience, [Scope("repository", repository, ("pull", "delete"))])
        return {"Authorization": f"Bearer {issued.token}"}

    return Upstream(app[keys.UPSTREAM], settings.upstream_url.origin(), headers_for)


def recorder_for(request: web.Request, actor: str) -> DeleteRecorder:
    return recorder_of(request.config_dict, actor)


def recorder_of(app: AppObjects, actor: str) -> DeleteRecorder:
    events, cache = app[keys.EVENTS], app[keys.MANIFEST_CACHE]
    return DeleteRecorder(actor, events.source_addr, events.instance_id, cache.deleted)
