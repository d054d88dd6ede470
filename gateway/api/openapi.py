"""The OpenAPI 3.0 document of the management API, written out as data.

Hand-written rather than generated so it reads as the contract it is; tests keep it honest:
every route of the API app must appear here and vice versa (tests/integration/api/
test_openapi.py), and schemathesis fuzzes the live API from it.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from gateway import names
from gateway.api.inputs import MAX_LIST
from gateway.api.paging import DEFAULT_LIMIT, MAX_AFTER, MAX_LIMIT
from gateway.api.render import json_response
from gateway.auth.app_tokens import PASSWORD_MAX, PASSWORD_MIN
from gateway.auth.policy import ROLES, VISIBILITIES
from gateway.events.model import ACTIONS as EVENT_ACTIONS
from gateway.events.model import LOGGED_ACTIONS
from gateway.services.events import MAX_ROWS_READ
from gateway.services.quotas import MAX_QUOTA
from gateway.services.tokens import ACTIONS, DEFAULT_ACTIONS

API_PREFIX = "/api/v1"
Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(grammar: names.Grammar) -> Schema:
    return {
        "type": "string", "pattern": grammar.pattern, "minLength": 1, "maxLength": grammar.max_length,
        "description": grammar.rule,
    }


USER_NAME = _string(names.USER)
TEAM_NAME = _string(names.TEAM)
NAMESPACE_NAME = _string(names.NAMESPACE)
REPOSITORY_NAME = _string(names.REPOSITORY)
TOKEN_NAME = _string(names.TOKEN)
TIME = {"type": "string", "format": "date-time"}
OPTIONAL_TIME = {**TIME, "nullable": True}
VISIBILITY = {"type": "string", "enum": list(VISIBILITIES)}
ROLE = {"type": "string", "enum": list(ROLES)}
ACTION_LIST = {"type": "array", "items": {"type": "string", "enum": list(ACTIONS)}, "minItems": 1, "maxItems": MAX_LIST}
QUOTA = {
    "oneOf": [
        {"type": "string", "maxLength": 64, "example": "10GiB"},
        {"type": "integer", "minimum": 0, "maximum": MAX_QUOTA},
    ],
    "description": "admins only: a size (10GiB, 500MB, 1.5TiB; a number alone is bytes), or none to lift the quota",
}
PASSWORD = {
    "type": "string", "minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX,
    "description": "may not start with 'pgat_' (the application token prefix)",
}


def _object(properties: dict[str, Schema], required: tuple[str, ...] = (), *, closed: bool = True) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


WEBHOOK_NAME = _string(names.WEBHOOK)
_WEBHOOK_FIELDS: dict[str, Schema] = {
    "url": {"type": "string", "pattern": "^https?://", "maxLength": 2048},
    "secret": {"type": "string", "minLength": 8, "maxLength": 255, "description": "signs each delivery; never shown again"},
    "headers": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 1000}, "maxProperties": 20},
    "actions": {"type": "array", "items": {"type": "string", "enum": list(EVENT_ACTIONS)}, "maxItems": 4,
                "description": "empty or absent: every action"},
    "repository_pattern": {"type": "string", "maxLength": 255, "description": "a glob such as team/*; empty: all"},
}

TAG_NAME = {"type": "string", "pattern": r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$"}
IMMUTABLE_TAGS = {
    "type": "array", "maxItems": 32, "items": {"type": "string", "pattern": r"^[a-zA-Z0-9._*?!\[\]-]{1,128}$"},
    "description": "fnmatch patterns (v*, release-*) of tags that may not be moved to another manifest or deleted;"
                   " [] lifts them",
}

_APP_TOKEN_PROPERTIES: dict[str, Schema] = {
    "name": TOKEN_NAME,
    "id": {"type": "string", "description": "the public part of the secret; appears in logs"},
    "namespaces": {"type": "array", "items": {"type": "string"}, "description": "empty: every namespace"},
    "actions": {"type": "array", "items": {"type": "string", "enum": list(ACTIONS)}},
    "expires_at": OPTIONAL_TIME,
    "created_at": TIME,
    "last_used_at": OPTIONAL_TIME,
    "imported_from": {
        "type": "string", "nullable": True, "description": "where an imported token came from (portus); null: made here",
    },
}

SCHEMAS: dict[str, Schema] = {
    "Error": _object(
        {"error": _object({"code": {"type": "string"}, "message": {"type": "string"}}, ("code", "message"))},
        ("error",),
    ),
    "User": _object(
        {"name": USER_NAME, "admin": {"type": "boolean"}, "disabled": {"type": "boolean"},
         "source": {"type": "string", "description": "local, or the directory that owns the account (ldap, oidc)"},
         "email": {"type": "string", "nullable": True, "description": "as the directory or a Portus import gave it"},
         "created_at": TIME, "updated_at": TIME,
         "note": {"type": "string", "description": "only when a PATCH enabled a disabled user: what stays revoked"}},
        ("name", "admin", "disabled", "created_at", "updated_at"), closed=False,
    ),
    "NewUser": _object({"name": USER_NAME, "password": PASSWORD, "admin": {"type": "boolean", "default": False}},
                       ("name", "password")),
    "UserPatch": _object({
        "password": PASSWORD,
        "admin": {"type": "boolean", "description": "admins only; not on themselves"},
        "disabled": {"type": "boolean", "description": "admins only; not on themselves"},
    }),
    "Team": _object({"name": TEAM_NAME, "created_at": TIME}, ("name", "created_at"), closed=False),
    "NewTeam": _object({"name": TEAM_NAME}, ("name",)),
    "Member": _object(
        {"user": USER_NAME, "role": ROLE, "managed_by": {
            "type": "string", "nullable": True,
            "description": "the directory whose group sync added it (and may remove it); null: added by hand",
        }},
        ("user", "role"), closed=False,
    ),
    "MemberRole": _object({"role": ROLE}, ("role",)),
    "Namespace": _object(
        {
            "name": NAMESPACE_NAME, "team": {**TEAM_NAME, "nullable": True}, "visibility": VISIBILITY, "created_at": TIME,
            "immutable_tags": IMMUTABLE_TAGS,
            "quota": {"type": "integer", "nullable": True, "description": "bytes its manifests may hold; null: no quota"},
            "usage": {"type": "integer", "description": "bytes of the distinct blobs its manifests hold"},
        },
        ("name", "team", "visibility", "created_at", "immutable_tags", "quota", "usage"), closed=False,
    ),
    "NewNamespace": _object(
        {"name": NAMESPACE_NAME, "team": TEAM_NAME, "visibility": {**VISIBILITY, "default": "private"}}, ("name", "team")
    ),
    "NamespacePatch": {
        **_object({"visibility": VISIBILITY, "team": TEAM_NAME, "immutable_tags": IMMUTABLE_TAGS, "quota": QUOTA}),
        "minProperties": 1,
    },
    "TagDeleted": _object(
        {"repository": REPOSITORY_NAME, "tag": TAG_NAME, "digest": {"type": "string"},
         "kept": {"type": "array", "items": TAG_NAME,
                  "description": "the other tags of the same manifest, kept (empty: the manifest stays by digest)"}},
        ("repository", "tag", "digest", "kept"), closed=False,
    ),
    "AppToken": _object(_APP_TOKEN_PROPERTIES, tuple(_APP_TOKEN_PROPERTIES), closed=False),
    "CreatedAppToken": _object(
        {**_APP_TOKEN_PROPERTIES, "secret": {"type": "string", "description": "shown only in this answer"}},
        (*_APP_TOKEN_PROPERTIES, "secret"), closed=False,
    ),
    "NewAppToken": _object({
        "name": TOKEN_NAME,
        "namespaces": {"type": "array", "items": NAMESPACE_NAME, "maxItems": MAX_LIST,
                       "description": "namespaces the token is limited to; empty or absent: all"},
        "actions": {**ACTION_LIST, "default": list(DEFAULT_ACTIONS)},
        "expires_in": {"type": "string", "pattern": r"^[1-9][0-9]{0,5}[mhdw]$",
                       "description": "like 90m, 12h, 30d or 2w, at most ten years; absent: never expires"},
    }, ("name",)),
    "Event": _object(
        {"id": {"type": "string"},
         "seq": {"type": "integer", "description": "the event's sequence number; admins only (a caller who may"
                 " not see every event gets none: the gaps would count the events hidden from them)"},
         "cursor": {"type": "string", "maxLength": MAX_AFTER,
                    "description": "opaque: pass as ?after= for the events older than this one (it opens for its"
                    " caller only)"},
         "timestamp": TIME,
         "action": {"type": "string", "enum": list(LOGGED_ACTIONS)}, "target": {"type": "object"},
         "request": {"type": "object"}, "actor": {"type": "object"}, "source": {"type": "object"}},
        ("id", "cursor", "timestamp", "action", "target", "request", "actor", "source"), closed=False,
    ),
    "Webhook": _object(
        {"name": WEBHOOK_NAME, "url": {"type": "string"}, "headers": {"type": "array", "items": {"type": "string"}},
         "actions": {"type": "array", "items": {"type": "string", "enum": list(EVENT_ACTIONS)}},
         "repository_pattern": {"type": "string"}, "source": {"type": "string", "enum": ["config", "api", "import"]},
         "delivered_up_to": {"type": "integer"},
         "disabled": {"type": "string", "nullable": True, "description": "why it delivers nothing; null: it delivers"}},
        ("name", "url", "headers", "actions", "repository_pattern", "source", "delivered_up_to"), closed=False,
    ),
    "NewWebhook": _object({"name": WEBHOOK_NAME, **_WEBHOOK_FIELDS}, ("name", "url", "secret")),
    "WebhookPatch": {**_object(_WEBHOOK_FIELDS), "minProperties": 1},
    "WebhookFailure": _object(
        {"event_seq": {"type": "integer"}, "state": {"type": "string", "enum": ["failed", "redeliver"]},
         "attempts": {"type": "integer"}, "last_error": {"type": "string"}, "updated_at": {"type": "integer"}},
        ("event_seq", "state", "attempts", "last_error", "updated_at"), closed=False,
    ),
    "Redelivery": _object({"requeued": {"type": "integer"}}, ("requeued",), closed=False),
    "WebhookDelivery": _object(
        {"id": {"type": "integer"},
         "event_seqs": {"type": "array", "items": {"type": "integer"}, "maxItems": 200,
                        "description": "the events the envelope carried, by sequence number"},
         "status_code": {"type": "integer", "nullable": True, "description": "the receiver's answer; null when none came"},
         "error": {"type": "string", "nullable": True, "description": "what went wrong after every retry; null on success"},
         "attempts": {"type": "integer"},
         "redelivery": {"type": "boolean", "description": "whether it sent events queued again"},
         "delivered_at": TIME},
        ("id", "event_seqs", "status_code", "error", "attempts", "redelivery", "delivered_at"), closed=False,
    ),
    "Repository": _object(
        {"name": REPOSITORY_NAME, "created_at": TIME, "last_push_at": OPTIONAL_TIME, "last_pull_at": OPTIONAL_TIME},
        ("name", "created_at", "last_push_at", "last_pull_at"), closed=False,
    ),
    "Tag": _object(
        {"name": {"type": "string"}, "digest": {"type": "string"}, "media_type": {"type": "string"},
         "size": {"type": "integer", "description": "the manifest's own bytes"}, "pushed_at": TIME,
         "image_size": {
             "type": "integer", "nullable": True,
             "description": "an image manifest's config and layers, in bytes; null for an index or when not recorded",
         },
         "platforms": {
             "type": "array", "items": {"type": "string"}, "maxItems": 32,
             "description": "an index's os/arch[/variant] (attestations left out); empty for an image manifest",
         },
         "last_pull_at": {
             **OPTIONAL_TIME,
             "description": "the last pull by this tag or by the digest it names; null when not pulled since it was pushed",
         }},
        ("name", "digest", "media_type", "size", "pushed_at", "image_size", "platforms", "last_pull_at"), closed=False,
    ),
    "Tombstone": _object(
        {"namespace": NAMESPACE_NAME, "repositories": {"type": "integer", "description": "when it was deleted"},
         "former_owner": _object({"kind": {"type": "string", "enum": ["user", "team", "none"]},
                                  "name": {"type": "string", "nullable": True}}, ("kind", "name"), closed=False),
         "deleted_by": {"type": "string"}, "deleted_at": TIME,
         "release": {"type": "string", "description": "how to free the name (the repositories go with it)"},
         "purge": {"type": "string", "description": "how to delete the repositories and free the name"}},
        ("namespace", "repositories", "former_owner", "deleted_by", "deleted_at", "release", "purge"), closed=False,
    ),
    "NewRetentionPolicy": _object({
        "repository_pattern": {"type": "string", "maxLength": 255, "pattern": "^[a-z0-9._/*?-]*$",
                               "description": "a glob of repository paths inside the namespace; empty or absent: all"},
        "keep_last": {"type": "integer", "minimum": 0, "maximum": 100000, "description": "the newest N tags by push time"},
        "keep_pulled_within_days": {"type": "integer", "minimum": 1, "maximum": 36500},
        "match": {"type": "string", "maxLength": 256, "description": "keep tags matching this regex (whole name)"},
        "exclude": {"type": "string", "maxLength": 256, "description": "delete tags matching this regex (whole name)"},
        "min_age_hours": {"type": "integer", "minimum": 0, "maximum": 876000, "description": "never touch younger tags"},
    }, ("keep_last",)),
    "RetentionPolicy": _object(
        {"namespace": NAMESPACE_NAME, "repository_pattern": {"type": "string"}, "keep_last": {"type": "integer"},
         "keep_pulled_within_days": {"type": "integer", "nullable": True}, "match": {"type": "string", "nullable": True},
         "exclude": {"type": "string", "nullable": True}, "min_age_hours": {"type": "integer", "nullable": True},
         "updated_by": {"type": "string"}, "updated_at": TIME},
        ("namespace", "repository_pattern", "keep_last", "updated_by", "updated_at"), closed=False,
    ),
    "RetentionPolicyList": _object({"items": {"type": "array", "items": _ref("RetentionPolicy")}}, ("items",), closed=False),
    "RetentionPlanList": _object({"items": {"type": "array", "items": _object(
        {"repository": REPOSITORY_NAME, "policy": {"type": "string"},
         "keep": {"type": "array", "items": {"type": "object"}}, "delete": {"type": "array", "items": {"type": "object"}}},
        ("repository", "policy", "keep", "delete"), closed=False,
    )}}, ("items",), closed=False),
    "RetentionReport": _object(
        {"dry_run": {"type": "boolean"}, "repositories": {"type": "integer"}, "kept": {"type": "integer"},
         "deleted": {"type": "array", "items": {"type": "object"}}, "skipped": {"type": "array", "items": {"type": "string"}},
         "result": {"type": "string"}},
        ("dry_run", "repositories", "kept", "deleted", "skipped", "result"), closed=False,
    ),
    "GcRequest": _object({"dry_run": {"type": "boolean", "default": False}}),
    "GcRun": _object(
        {"running": {"type": "boolean"},
         "phase": {"type": "string", "enum": ["never run", "draining", "collecting", "measuring", "done", "failed",
                                                 "interrupted"]},
         "progress": {"type": "string", "nullable": True, "description": "while it runs: what it is doing"},
         "dry_run": {"type": "boolean"},
         "write_window": {"type": "boolean", "description": "pushes and deletes are refused now"},
         "requested_by": {"type": "string", "nullable": True}, "started_at": OPTIONAL_TIME, "finished_at": OPTIONAL_TIME,
         "result": {"type": "string", "nullable": True, "description": "the report of the run, once it ended"}},
        ("running", "phase", "progress", "dry_run", "write_window", "requested_by", "started_at", "finished_at", "result"),
        closed=False,
    ),
    "Reserved": _object(
        {"message": {"type": "string"}, "reserved": _ref("Tombstone")}, ("message", "reserved"), closed=False,
    ),
    "Released": _object(
        {"message": {"type": "string"}, "released": _ref("Tombstone")}, ("message", "released"), closed=False,
    ),
    "Purged": _object(
        {"message": {"type": "string"},
         "purged": _object({"namespace": NAMESPACE_NAME, "repositories": {"type": "integer"}, "manifests": {"type": "integer"}},
                           ("namespace", "repositories", "manifests"), closed=False)},
        ("message", "purged"), closed=False,
    ),
}
for _item in (
    "User", "Team", "Member", "Namespace", "AppToken", "Repository", "Tag", "Event", "Webhook", "WebhookFailure", "Tombstone",
    "WebhookDelivery",
):
    SCHEMAS[f"{_item}Page"] = _object(
        {"items": {"type": "array", "items": _ref(_item)},
         "next": {"type": "string", "nullable": True, "description": "pass as ?after= for the next page; null at the end"}},
        ("items", "next"), closed=False,
    )
SCHEMAS["EventPage"]["properties"]["next"] = {
    "type": "string", "nullable": True,
    "description": "pass as ?after= for the older events; null only at the end of the log. A caller who may not see every"
    " event may get fewer than `limit` items, or none, with a `next`: one request reads a bounded number of events"
    f" ({MAX_ROWS_READ:,}), so go on until `next` is null",
}


def _path_param(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema}


PARAMETERS: dict[str, Schema] = {
    "limit": {"name": "limit", "in": "query", "required": False,
              "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
    "after": {"name": "after", "in": "query", "required": False,
              "description": "the `next` of the previous page", "schema": {"type": "string", "maxLength": MAX_AFTER}},
    "user": _path_param("user", USER_NAME),
    "team": _path_param("team", TEAM_NAME),
    "namespace": _path_param("namespace", NAMESPACE_NAME),
    "token": _path_param("token", TOKEN_NAME),
    "repository": _path_param("name", REPOSITORY_NAME),
    "tag": _path_param("tag", TAG_NAME),
    "webhook": _path_param("webhook", WEBHOOK_NAME),
    "delivery": _path_param("delivery", {"type": "string", "pattern": "^[0-9]{1,18}$"}),
    "eventRepository": {"name": "repository", "in": "query", "required": False, "schema": REPOSITORY_NAME},
    "eventAction": {
        "name": "action", "in": "query", "required": False, "schema": {"type": "string", "enum": list(LOGGED_ACTIONS)},
    },
    "eventActor": {"name": "actor", "in": "query", "required": False, "schema": USER_NAME},
    "since": {"name": "since", "in": "query", "required": False, "schema": TIME, "description": "RFC 3339, inclusive"},
    "until": {"name": "until", "in": "query", "required": False, "schema": TIME, "description": "RFC 3339, inclusive"},
    "eventAfter": {"name": "after", "in": "query", "required": False, "description": "the `next` of the previous page",
                   "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}},
    "eventCursor": {"name": "after", "in": "query", "required": False,
                    "description": "the `next` of the previous page, or an event's `cursor`: opaque, and for the caller"
                    " who got it only; a sequence number is taken from admins only (400 from anyone else)",
                    "schema": {"type": "string", "maxLength": MAX_AFTER}},
    "retentionPattern": {"name": "repository_pattern", "in": "query", "required": False,
                         "description": "the policy's repository glob; absent: the namespace's default",
                         "schema": {"type": "string", "maxLength": 255}},
}

_ERROR_DESCRIPTIONS = {
    "400": "bad input: malformed JSON, a wrong type, an unknown field, a bad name or value",
    "401": "no or invalid credentials",
    "403": "not allowed (application tokens may only read their own user's resources)",
    "404": "no such resource",
    "409": "already exists, or conflicts with an existing resource",
    "413": "request body too large",
    "429": "too many failed logins from this address; see Retry-After",
    "503": "the gateway's database (or, for a purge or a tag deletion, the registry) is unavailable",
}
_ALWAYS = ("400", "401", "429", "503")


def _errors(codes: tuple[str, ...]) -> dict[str, Schema]:
    responses: dict[str, Schema] = {}
    for code in sorted({*_ALWAYS, *codes}):
        response: Schema = {"description": _ERROR_DESCRIPTIONS[code], "content": {"application/json": {"schema": _ref("Error")}}}
        if code == "401":
            challenge = {"schema": {"type": "string"}, "description": 'Basic realm="portus-gateway"'}
            response["headers"] = {"WWW-Authenticate": challenge}
        if code == "429":
            response["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        responses[code] = response
    return responses


def _json(schema: str, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _op(
    operation_id: str, tag: str, summary: str, ok: dict[str, Schema], *, params: tuple[str, ...] = (),
    body: str | None = None, errors: tuple[str, ...] = (),
) -> Schema:
    operation: Schema = {"operationId": operation_id, "tags": [tag], "summary": summary}
    if params:
        operation["parameters"] = [{"$ref": f"#/components/parameters/{p}"} for p in params]
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
        errors = (*errors, "413")
    operation["responses"] = {**ok, **_errors(errors)}
    return operation


_PAGED = ("limit", "after")
_DELETED = {"204": {"description": "deleted"}}
_DELETED_OR_RESERVED = {
    **_DELETED,
    "200": _json("Reserved", "deleted, but repositories are still in the namespace: its name stays reserved until an admin"
                             " releases or purges it (see /tombstones)"),
}


def _links(parameters: dict[str, str], *operation_ids: str) -> dict[str, Schema]:
    """OpenAPI links: how a created resource is addressed by the operations that follow it."""
    return {operation_id: {"operationId": operation_id, "parameters": parameters} for operation_id in operation_ids}


def _created(schema: str, links: dict[str, Schema]) -> dict[str, Schema]:
    return {"201": {**_json(schema, "created"), "links": links}}


_USER_LINKS = _links({"user": "$response.body#/name"}, "getUser", "updateUser", "deleteUser", "listAppTokens", "createAppToken")
_TOKEN_LINKS = _links({"user": "$request.path.user", "token": "$response.body#/name"}, "revokeAppToken")
_TEAM_LINKS = _links({"team": "$response.body#/name"}, "getTeam", "deleteTeam", "listMembers")
_MEMBER_LINKS = _links({"team": "$request.path.team", "user": "$request.path.user"}, "deleteMember")
_WEBHOOK_LINKS = _links({"webhook": "$response.body#/name"}, "getWebhook", "updateWebhook", "deleteWebhook")
_NAMESPACE_LINKS = _links({"namespace": "$response.body#/name"}, "getNamespace", "updateNamespace", "deleteNamespace")

PATHS: dict[str, dict[str, Schema]] = {
    "/openapi.json": {
        "get": {
            "operationId": "getOpenAPI", "tags": ["meta"], "summary": "this document", "security": [],
            "responses": {
                "200": {"description": "the OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}},
            },
        },
    },
    "/users": {
        "get": _op("listUsers", "users", "list users (admins)", {"200": _json("UserPage", "a page of users")},
                   params=_PAGED, errors=("403",)),
        "post": _op("createUser", "users", "create a user (admins); not with a reserved name (409)",
                    _created("User", _USER_LINKS), body="NewUser", errors=("403", "409")),
    },
    "/users/{user}": {
        "get": _op("getUser", "users", "read a user (themself or admins)", {"200": _json("User", "the user")},
                   params=("user",), errors=("403", "404")),
        "patch": _op("updateUser", "users",
                     "change a password (themself or admins), the admin or disabled flag (admins); disabling revokes at once,"
                     " and both disabling and a new password revoke the user's refresh tokens",
                     {"200": _json("User", "the changed user")}, params=("user",), body="UserPatch", errors=("403", "404")),
        "delete": _op("deleteUser", "users", "delete a user (themself or admins; admins not themselves)",
                      _DELETED_OR_RESERVED, params=("user",), errors=("403", "404")),
    },
    "/users/{user}/tokens": {
        "get": _op("listAppTokens", "tokens", "list a user's application tokens (never their secrets)",
                   {"200": _json("AppTokenPage", "a page of tokens")}, params=("user", *_PAGED), errors=("403", "404")),
        "post": _op("createAppToken", "tokens",
                    "create an application token (the user or admins, with a password); the secret is shown once",
                    {"201": {**_json("CreatedAppToken", "created; `secret` appears only here"), "links": _TOKEN_LINKS}},
                    params=("user",), body="NewAppToken", errors=("403", "404", "409")),
    },
    "/users/{user}/tokens/{token}": {
        "delete": _op("revokeAppToken", "tokens", "revoke an application token; JWTs issued from it fail at once",
                      _DELETED, params=("user", "token"), errors=("403", "404")),
    },
    "/teams": {
        "get": _op("listTeams", "teams", "list teams (admins: all; others: their own)",
                   {"200": _json("TeamPage", "a page of teams")}, params=_PAGED),
        "post": _op("createTeam", "teams", "create a team; its creator becomes its owner",
                    _created("Team", _TEAM_LINKS), body="NewTeam", errors=("403", "409")),
    },
    "/teams/{team}": {
        "get": _op("getTeam", "teams", "read a team (members and admins; 404 to others)", {"200": _json("Team", "the team")},
                   params=("team",), errors=("404",)),
        "delete": _op("deleteTeam", "teams", "delete a team (owners and admins); its namespaces stay, admin-only",
                      _DELETED, params=("team",), errors=("403", "404")),
    },
    "/teams/{team}/members": {
        "get": _op("listMembers", "teams", "list a team's members (members and admins; 404 to others)",
                   {"200": _json("MemberPage", "a page of members")}, params=("team", *_PAGED), errors=("404",)),
    },
    "/teams/{team}/members/{user}": {
        "put": _op("putMember", "teams", "add a member or change their role (owners and admins)",
                   {"200": _json("Member", "role changed"), "201": {**_json("Member", "member added"), "links": _MEMBER_LINKS}},
                   params=("team", "user"), body="MemberRole", errors=("403", "404")),
        "delete": _op("deleteMember", "teams", "remove a member (owners and admins; anyone may leave)", _DELETED,
                      params=("team", "user"), errors=("403", "404")),
    },
    "/namespaces": {
        "get": _op("listNamespaces", "namespaces", "list the namespaces the caller may see",
                   {"200": _json("NamespacePage", "a page of namespaces")}, params=_PAGED),
        "post": _op("createNamespace", "namespaces", "create a team namespace (the team's owners and admins;"
                    " a name a user could have, only admins); not with a reserved name (409)",
                    _created("Namespace", _NAMESPACE_LINKS), body="NewNamespace", errors=("403", "404", "409")),
    },
    "/namespaces/{namespace}": {
        "get": _op("getNamespace", "namespaces", "read a namespace (a personal one reads private until changed;"
                   " one the caller may not see is 404, as a missing one)",
                   {"200": _json("Namespace", "the namespace")}, params=("namespace",), errors=("403", "404")),
        "patch": _op("updateNamespace", "namespaces",
                     "change visibility or team (team owners and admins;"
                     " a user may change their personal namespace's visibility)",
                     {"200": _json("Namespace", "the changed namespace")}, params=("namespace",), body="NamespacePatch",
                     errors=("403", "404", "409")),
        "delete": _op("deleteNamespace", "namespaces", "delete a namespace's row (its managers)", _DELETED_OR_RESERVED,
                      params=("namespace",), errors=("403", "404")),
    },
    "/tombstones": {
        "get": _op("listTombstones", "tombstones",
                   "reserved namespaces: deleted while repositories were in them (admins)",
                   {"200": _json("TombstonePage", "a page of reserved namespaces")}, params=_PAGED, errors=("403",)),
    },
    "/tombstones/{namespace}": {
        "get": _op("getTombstone", "tombstones", "read a reserved namespace (admins)",
                   {"200": _json("Tombstone", "the reservation")}, params=("namespace",), errors=("403", "404")),
    },
    "/tombstones/{namespace}/release": {
        "post": _op("releaseTombstone", "tombstones",
                    "free a reserved name (admins); its repositories stay and go to whoever takes the name next",
                    {"200": _json("Released", "released")}, params=("namespace",), errors=("403", "404")),
    },
    "/tombstones/{namespace}/purge": {
        "post": _op("purgeTombstone", "tombstones",
                    "delete the reserved namespace's manifests in the registry and its repositories from the index,"
                    " then free the name (admins; 409 when deletion is disabled here or in the registry)",
                    {"200": _json("Purged", "purged")}, params=("namespace",), errors=("403", "404", "409")),
    },
    "/repositories": {
        "get": _op("listRepositories", "repositories",
                   "list the repositories the caller may pull (from the index of what passed through the gateway)",
                   {"200": _json("RepositoryPage", "a page of repositories")}, params=_PAGED),
    },
    "/repositories/{name}/tags": {
        "get": _op("listTags", "repositories", "list a repository's tags (if the caller may pull it)",
                   {"200": _json("TagPage", "a page of tags")}, params=("repository", *_PAGED),
                   errors=("403", "404")),
    },
    "/repositories/{name}/tags/{tag}": {
        "delete": _op("deleteTag", "repositories",
                      "delete one tag (who may delete manifests there); the manifest's other tags stay, byte for byte,"
                      " and with no other tag it stays by digest; an immutable tag is refused (403)",
                      {"200": _json("TagDeleted", "deleted")}, params=("repository", "tag"),
                      errors=("403", "404", "409")),
    },
    "/events": {
        "get": _op("listEvents", "events",
                   "the audit log, newest first (admins: all; others: repositories they may pull, without other users'"
                   " addresses, user agents and token names, the gateway's address, or mount sources they may not pull); a page"
                   " may hold fewer than `limit` events while older ones follow: only a null `next` means the end",
                   {"200": _json("EventPage", "a page of events")},
                   params=("eventRepository", "eventAction", "eventActor", "since", "until", "limit", "eventCursor")),
    },
    "/webhooks": {
        "get": _op("listWebhooks", "webhooks", "list webhook endpoints (admins)",
                   {"200": _json("WebhookPage", "a page of webhooks")},
                   params=_PAGED, errors=("403",)),
        "post": _op("createWebhook", "webhooks", "add a webhook endpoint (admins); it receives events from now on",
                    _created("Webhook", _WEBHOOK_LINKS), body="NewWebhook", errors=("403", "409")),
    },
    "/webhooks/{webhook}": {
        "get": _op("getWebhook", "webhooks", "read a webhook endpoint (admins)", {"200": _json("Webhook", "the webhook")},
                   params=("webhook",), errors=("403", "404")),
        "patch": _op("updateWebhook", "webhooks", "change a webhook endpoint (admins; not those from the settings)",
                     {"200": _json("Webhook", "the changed webhook")}, params=("webhook",), body="WebhookPatch",
                     errors=("403", "404", "409")),
        "delete": _op("deleteWebhook", "webhooks", "remove a webhook endpoint (admins; not those from the settings)",
                      _DELETED, params=("webhook",), errors=("403", "404", "409")),
    },
    "/webhooks/{webhook}/failures": {
        "get": _op("listWebhookFailures", "webhooks", "deliveries that failed after every retry (admins)",
                   {"200": _json("WebhookFailurePage", "the failures")}, params=("webhook", "limit", "eventAfter"),
                   errors=("400", "403", "404")),
    },
    "/webhooks/{webhook}/deliveries": {
        "get": _op("listWebhookDeliveries", "webhooks",
                   "the webhook's recent deliveries, successes and failures, newest first (admins; the newest 50 are kept)",
                   {"200": _json("WebhookDeliveryPage", "a page of deliveries")}, params=("webhook", "limit", "eventAfter"),
                   errors=("400", "403", "404")),
    },
    "/webhooks/{webhook}/deliveries/{delivery}/redeliver": {
        "post": _op("redeliverWebhookDelivery", "webhooks",
                    "send the events of one recent delivery again, on the webhook's next round (admins)",
                    {"202": _json("Redelivery", "queued for delivery")}, params=("webhook", "delivery"),
                    errors=("400", "403", "404")),
    },
    "/webhooks/{webhook}/redeliver": {
        "post": _op("redeliverWebhook", "webhooks", "send the failed deliveries again (admins)",
                    {"202": _json("Redelivery", "queued for delivery")}, params=("webhook",), errors=("403", "404")),
    },
    "/gc": {
        "get": _op("getGc", "maintenance", "the running or last blob garbage collection (admins)",
                   {"200": _json("GcRun", "its state")}, errors=("403",)),
        "post": {
            **_op("startGc", "maintenance",
                  "start a blob garbage collection (admins): pushes and deletes get 503 with Retry-After on every"
                  " instance until it ends; a dry run only reports what would go (409 while one runs or without"
                  " gc.command)",
                  {"202": _json("GcRun", "started; GET /gc follows it")}, errors=("403", "409", "413")),
            "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("GcRequest")}}},
        },
    },
    "/namespaces/{namespace}/retention": {
        "get": _op("getRetentionPolicies", "retention", "a namespace's tag retention policies (its managers)",
                   {"200": _json("RetentionPolicyList", "the policies")}, params=("namespace",), errors=("403", "404")),
        "put": _op("putRetentionPolicy", "retention",
                   "set the namespace's policy, or one for its repositories matching repository_pattern (its managers)",
                   {"200": _json("RetentionPolicy", "the policy")}, params=("namespace",), body="NewRetentionPolicy",
                   errors=("403", "404")),
        "delete": _op("deleteRetentionPolicy", "retention", "remove a policy (its managers)", _DELETED,
                      params=("namespace", "retentionPattern"), errors=("403", "404")),
    },
    "/namespaces/{namespace}/retention/plan": {
        "get": _op("planRetention", "retention", "what the namespace's policies would delete now, per repository (a dry run)",
                   {"200": _json("RetentionPlanList", "per repository: the tags kept and deleted, with why")},
                   params=("namespace",), errors=("403", "404")),
    },
    "/retention": {
        "get": _op("getRetentionRun", "retention", "the running or last retention run (admins)",
                   {"200": _json("GcRun", "its state")}, errors=("403",)),
        "post": {
            **_op("startRetentionRun", "retention",
                  "apply every policy (admins): a dry run answers 200 with what would go; a run starts in the"
                  " background (202; 409 while one runs, 503 during garbage collection)",
                  {"200": _json("RetentionReport", "the dry run's report"), "202": _json("GcRun", "started")},
                  errors=("403", "409", "413")),
            "requestBody": {"required": False, "content": {"application/json": {"schema": _ref("GcRequest")}}},
        },
    },
}

_DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "portus-gateway management API",
        "version": "1",
        "description": "Users, teams, namespaces, application tokens and repositories. HTTP Basic with a password "
                       "or an application token (which may only read its own user's resources). Lists are paged "
                       'with ?limit= and ?after=; errors are {"error": {"code", "message"}}.',
    },
    "servers": [{"url": API_PREFIX}],
    "security": [{"basicAuth": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
        "parameters": PARAMETERS,
        "schemas": SCHEMAS,
    },
}


def document() -> dict[str, Any]:
    """A fresh copy, so no caller can change what the next one sees."""
    return copy.deepcopy(_DOCUMENT)


async def openapi_handler(request: web.Request) -> web.Response:
    """Public: describing the API gives nothing away that calling it does not."""
    return json_response(document())
