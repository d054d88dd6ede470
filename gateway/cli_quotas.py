"""The command line's side of namespace quotas (gateway/services/quotas.py): `namespace update
NAME --quota 10GiB|none`, `namespace show NAME`, the usage in `namespace list`, and `namespace
recount [NAME]`, which reads manifests from the registry (as `namespace purge` does) to count
those pushed before the gateway counted usage."""

from __future__ import annotations

import argparse
import socket
from typing import Any

from gateway.auth.permissions import OPERATOR
from gateway.config import Settings
from gateway.services import quotas
from gateway.services.context import Services
from gateway.services.namespaces import get_namespace
from gateway.services.quotas import NO_QUOTA
from gateway.store import Namespace

QUOTA_HELP = "a size such as 10GiB, 500MB or 1048576 (bytes), or none to lift the quota (admins)"


def add_commands(namespaces: argparse._SubParsersAction[Any], update: argparse.ArgumentParser) -> None:
    """`--quota` on `namespace update`, and `namespace show` and `recount`."""
    update.add_argument("--quota", help=QUOTA_HELP)
    namespaces.add_parser("show", help="a namespace's settings, quota and usage").add_argument("name")
    namespaces.add_parser(
        "recount", help="count the storage of manifests pushed before quotas were counted (reads them from the registry)"
    ).add_argument("name", nargs="?")


def line(namespace: Namespace, quota: quotas.Quota) -> str:
    """One namespace as `namespace list` and `show` print it."""
    limit = str(quota.quota) if quota.quota is not None else NO_QUOTA
    immutable = f" immutable_tags={','.join(namespace.immutable_tags)}" if namespace.immutable_tags else ""
    return (
        f"{namespace.name} team={namespace.team or '-'} visibility={namespace.visibility} usage={quota.usage} quota={limit}"
        f"{immutable}"
    )


async def show(services: Services, name: str) -> None:
    """The list's line, and the usage for people."""
    namespace = await get_namespace(services, OPERATOR, name)
    quota = await quotas.quota_of(services, OPERATOR, name)
    print(line(namespace, quota))
    print(f"storage: {quota.text}")


async def set_quota(services: Services, name: str, text: str) -> None:
    quota = await quotas.set_quota(services, OPERATOR, name, text)
    print(f"namespace {name} quota {'lifted' if quota.quota is None else 'set'}: {quota.text}")


async def recount(services: Services, settings: Settings, name: str | None) -> None:
    from gateway.cli_registry import registry  # aiohttp: for this command alone, not `namespace list`

    async with registry(settings) as upstream:
        counted = await quotas.recount(services, OPERATOR, name, upstream)
    for namespace, usage in counted.namespaces.items():
        print(f"{namespace or '(global)'} usage={usage} ({quotas.format_size(usage)})")
    gone = f"; {counted.missing} no longer in the registry" if counted.missing else ""
    print(f"recounted {counted.manifests} manifests on {socket.gethostname()}{gone}")
