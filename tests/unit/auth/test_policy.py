"""Who may do what: grant = requested ∩ allowed, with a reason for every refusal."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from gateway.auth.policy import (
    ANONYMOUS,
    ROLES,
    VISIBILITIES,
    Grant,
    Identity,
    NamespaceFacts,
    Rules,
    TokenLimits,
    grant,
    repository_actions,
)
from gateway.auth.scopes import Scope

ALICE = Identity("alice")
ADMIN = Identity("root", admin=True)
ALL = ("pull", "push", "delete")
RULES = Rules()


def repo(name: str, *actions: str) -> Scope:
    return Scope("repository", name, actions)


def facts_for(identity: Identity) -> dict[str, NamespaceFacts]:
    """The namespaces of these tests as the store describes them to `identity`."""
    facts = {"": NamespaceFacts("", "global", "protected")}
    for user in ("alice", "bob"):
        role = "owner" if identity.name == user else None
        facts[user] = NamespaceFacts(user, "personal", "private", role)
    return facts


def decide(identity: Identity, requested: Iterable[Scope], rules: Rules = RULES) -> Grant:
    return grant(identity, requested, facts_for(identity), rules)


def test_user_gets_every_action_in_their_personal_namespace() -> None:
    decision = decide(ALICE, [repo("alice/app", *ALL)])
    assert decision.scopes == (repo("alice/app", *ALL),)
    assert decision.refusals == ()


def test_personal_namespace_covers_nested_repositories() -> None:
    assert decide(ALICE, [repo("alice/team/app", "push")]).scopes == (repo("alice/team/app", "push"),)


def test_user_gets_nothing_in_another_users_namespace_and_the_refusal_says_why() -> None:
    decision = decide(ALICE, [repo("bob/app", *ALL)])
    assert decision.scopes == ()
    assert len(decision.refusals) == 1
    refusal = decision.refusals[0]
    assert refusal.startswith("alice refused pull,push,delete on repository:bob/app: ")
    reason = refusal.split(": ", 1)[1]
    assert "bob" in reason


def test_signed_in_user_may_only_pull_from_the_global_namespace() -> None:
    decision = decide(ALICE, [repo("ubuntu", *ALL)])
    assert decision.scopes == (repo("ubuntu", "pull"),)
    assert len(decision.refusals) == 1
    assert "refused push,delete on repository:ubuntu" in decision.refusals[0]


def test_admin_may_push_to_the_global_namespace() -> None:
    assert decide(ADMIN, [repo("ubuntu", "pull", "push")]).scopes == (repo("ubuntu", "pull", "push"),)


def test_admin_may_do_everything_in_any_namespace() -> None:
    decision = decide(ADMIN, [repo("alice/app", *ALL), repo("bob/x", "*")])
    assert decision.scopes == (repo("alice/app", *ALL), repo("bob/x", "*"))
    assert decision.refusals == ()


@pytest.mark.parametrize("name", ["ubuntu", "alice/app", "bob/app", "nobody/app"])
def test_anonymous_caller_gets_nothing(name: str) -> None:
    decision = decide(ANONYMOUS, [repo(name, *ALL)])
    assert decision.scopes == ()
    assert len(decision.refusals) == 1
    assert decision.refusals[0].startswith("anonymous refused")


def test_namespace_that_does_not_exist_grants_nothing_to_a_user() -> None:
    decision = decide(ALICE, [repo("nobody/app", "pull")])
    assert decision.scopes == ()
    assert len(decision.refusals) == 1


def test_star_is_granted_when_pull_push_and_delete_are_all_allowed() -> None:
    assert decide(ALICE, [repo("alice/app", "*")]).scopes == (repo("alice/app", "*"),)


def test_star_is_refused_when_only_some_actions_are_allowed() -> None:
    decision = decide(ALICE, [repo("ubuntu", "pull", "*")])
    assert decision.scopes == (repo("ubuntu", "pull"),)
    assert "refused * on" in decision.refusals[0]


def test_star_alone_on_a_pull_only_repository_grants_nothing() -> None:
    assert decide(ALICE, [repo("ubuntu", "*")]).scopes == ()


def test_star_is_refused_when_deletion_is_disabled() -> None:
    no_delete = Rules(delete_enabled=False)
    assert decide(ALICE, [repo("alice/app", "*")], no_delete).scopes == ()
    assert decide(ALICE, [repo("alice/app", *ALL)], no_delete).scopes == (repo("alice/app", "pull", "push"),)


def test_catalog_is_for_admins_only() -> None:
    catalog = Scope("registry", "catalog", ("*",))
    assert decide(ADMIN, [catalog]).scopes == (catalog,)
    refused = decide(ALICE, [catalog])
    assert refused.scopes == ()
    assert len(refused.refusals) == 1
    assert "registry:catalog" in refused.refusals[0]
    assert decide(ANONYMOUS, [catalog]).scopes == ()


def test_empty_request_is_an_empty_grant_not_an_error() -> None:
    decision = decide(ALICE, [])
    assert decision.scopes == ()
    assert decision.refusals == ()


def test_wholly_refused_request_is_an_empty_grant_not_an_error() -> None:
    assert decide(ALICE, [repo("bob/x", "pull"), repo("nobody/y", "push")]).scopes == ()


def test_grant_is_the_intersection_and_keeps_request_order() -> None:
    decision = decide(ALICE, [repo("bob/x", "pull"), repo("alice/app", "push", "pull"), repo("ubuntu", "pull", "push")])
    assert decision.scopes == (repo("alice/app", "push", "pull"), repo("ubuntu", "pull"))
    assert len(decision.refusals) == 2


def test_resource_class_is_kept_on_granted_scopes() -> None:
    scope = Scope("repository", "alice/app", ("pull",), "plugin")
    assert decide(ALICE, [scope]).scopes == (scope,)


def test_unknown_resource_types_are_ignored() -> None:
    assert decide(ADMIN, [Scope("widget", "x", ("pull",))]).scopes == ()


def _reserved(identity: Identity, requested: Iterable[Scope], rules: Rules = RULES) -> Grant:
    """As the store describes a reserved namespace (deleted with repositories in it) to anyone,
    its former owner's name included."""
    return grant(identity, requested, {"gone": NamespaceFacts("gone", "reserved")}, rules)


@pytest.mark.parametrize("identity", [ANONYMOUS, ALICE, Identity("gone")])
def test_a_reserved_namespace_grants_nothing_to_non_admins(identity: Identity) -> None:
    decision = _reserved(identity, [repo("gone/app", *ALL)])
    assert decision.scopes == ()
    assert "reserved" in decision.refusals[0] and "release or purge" in decision.refusals[0]


def test_admins_may_pull_and_delete_in_a_reserved_namespace_but_nobody_pushes() -> None:
    decision = _reserved(ADMIN, [repo("gone/app", *ALL)])
    assert decision.scopes == (repo("gone/app", "pull", "delete"),)
    assert "nobody pushes" in decision.refusals[0]
    assert _reserved(ADMIN, [repo("gone/app", *ALL)], Rules(delete_enabled=False)).scopes == (repo("gone/app", "pull"),)


def test_every_repository_of_a_namespace_gets_the_same_answer() -> None:
    """What lists rely on (`PullFilter` decides a namespace once, a walk skips a hidden one
    whole): the rest of a repository's name changes nothing, for any caller, kind of namespace,
    visibility, role, rule or application token."""
    limited = [
        Identity("alice", limits=TokenLimits("t1", "ci", frozenset({"ns"}), frozenset({"pull"}))),
        Identity("alice", limits=TokenLimits("t2", "other", frozenset({"elsewhere"}), frozenset(ALL))),
        Identity("alice", limits=TokenLimits("t3", "any", frozenset(), frozenset({"push"}))),
    ]
    callers = [ANONYMOUS, ALICE, Identity("ns"), ADMIN, *limited]
    kinds = ("personal", "team", "unowned", "missing", "reserved")
    rule_sets = [RULES, Rules(delete_enabled=False), Rules(contributors_delete=True)]
    names = ("ns/a", "ns/zz/deeper", "ns/b-0")
    checked = 0
    for identity in callers:
        for kind in kinds:
            for visibility in VISIBILITIES:
                for role in (None, *ROLES):
                    facts = NamespaceFacts("ns", kind, visibility, role)  # type: ignore[arg-type]
                    for rules in rule_sets:
                        answers = {repository_actions(identity, name, facts, rules).actions for name in names}
                        assert len(answers) == 1, (identity, facts, rules, answers)
                        checked += 1
    assert checked == len(callers) * len(kinds) * len(VISIBILITIES) * (len(ROLES) + 1) * len(rule_sets)
