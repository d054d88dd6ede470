"""The retention section of a namespace's page, for its managers: the policies, a form to set
one (the namespace's default, or one for a repository glob), and on request (`?plan=1`) what
they would delete now, per repository. Every rule is the retention service's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from yarl import URL

from gateway.auth.permissions import Actor
from gateway.auth.policy import Identity
from gateway.services import retention
from gateway.services.errors import Forbidden, Invalid, NotFound
from gateway.ui.context import services
from gateway.ui.manage.common import text
from gateway.ui.sessions import UI_PATH


@dataclass(frozen=True)
class PolicyForm:
    """The form's fields as typed, kept to show again next to an error."""

    repository_pattern: str = ""
    keep_last: str = ""
    keep_pulled_within_days: str = ""
    match: str = ""
    exclude: str = ""
    min_age_hours: str = ""

    @classmethod
    def posted(cls, form: MultiDictProxy[Any]) -> PolicyForm:
        return cls(*(text(form, name)[:300] for name in cls.__dataclass_fields__))

    def spec(self) -> retention.PolicySpec:
        return retention.PolicySpec(
            _number("keep last", self.keep_last, required=True) or 0, self.repository_pattern,
            _number("keep pulled within (days)", self.keep_pulled_within_days), self.match or None, self.exclude or None,
            _number("minimum age (hours)", self.min_age_hours),
        )


def _number(label: str, value: str, *, required: bool = False) -> int | None:
    if not value and not required:
        return None
    if not value.isdigit() or len(value) > 9:
        raise Invalid(f"{label} must be a whole number")
    return int(value)


def namespace_path(name: str) -> str:
    return f"{UI_PATH}/namespaces/{URL.build(path=name).raw_path}"


async def retention_section(
    request: web.Request, identity: Identity, name: str, *, form: PolicyForm | None = None, error: str | None = None
) -> dict[str, Any]:
    """The template's `retention` (None for whoever may not manage the namespace)."""
    if identity.anonymous:
        return {"retention": None}
    actor = Actor.of(identity)
    try:
        policies = await retention.show_policies(services(request), actor, name)
    except (Forbidden, NotFound):
        return {"retention": None}
    plans = None
    if request.query.get("plan") == "1":
        plans = await retention.plan_namespace(services(request), actor, name)
    return {"retention": {
        "policies": policies, "plans": plans, "form": form or PolicyForm(), "error": error,
        "action": f"{namespace_path(name)}/retention",
    }}
