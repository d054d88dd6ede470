"""Command line: serve, keys, users, teams, namespaces (reserved ones too), tags, tokens, migrate,
secrets, config. Same settings and environment as `serve`.

Every expected failure ends in one line on stderr: exit 2 for bad settings or usage, 1 for a
failed operation (store unreachable, unknown user, ...). The management commands never create
a database in the default place (`./data` of wherever they run): run from the wrong directory
they would otherwise add users to an empty database of their own without anyone noticing.

The commands that reach the registry (purge, recount, tag delete, gc, retention) import what
they need when they run: the others start without aiohttp and the registry's client, a third of a
second each, which scripts and the test suite pay hundreds of times.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from yarl import URL

from gateway import cli_quotas
from gateway import cli_tombstones as tombstones
from gateway.auth.credentials import PasswordHasher
from gateway.auth.keyfiles import KeyFileError, load_or_create_signing_key, load_verification_key, write_key_pair
from gateway.auth.permissions import OPERATOR
from gateway.auth.policy import ROLES, VISIBILITIES
from gateway.auth.revocation import RevocationView
from gateway.auth.sealing import Sealer, SecretsKeyError, load_or_create_sealer, new_key, read_keys, write_keys
from gateway.auth.tokens import rfc3339
from gateway.cli_import import SOURCE_VARIABLE, portus_source
from gateway.config import ConfigError, Settings, describe, load_settings, uses_data_dir
from gateway.envfile import CONFIG_VARIABLE, env_file_text, read_env_file
from gateway.ops.logs import configure_logging
from gateway.private_files import private_dir
from gateway.services import namespaces, quotas, teams, users
from gateway.services import tokens as app_tokens
from gateway.services.context import Services
from gateway.services.errors import ServiceError
from gateway.store import Store, StoreError, open_store

PROG = "portus-gateway"
log = logging.getLogger("gateway.cli")
# Rows a list command reads per page.
_PAGE = 1000

T = TypeVar("T")


class CommandError(Exception):
    """A failed operation; the message is the one line shown."""


class _CommandParser(argparse.ArgumentParser):
    """Every command and sub-command takes the global options too, so they may come after it
    (`user list --config FILE`); only the top parser has defaults, so a later one never resets them."""

    def __init__(self, *args: Any, top: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        default = None if top else argparse.SUPPRESS
        self.add_argument("--config", type=Path, default=default, help="TOML settings file (default: $GATEWAY_CONFIG)")
        self.add_argument(
            "--env-file", type=Path, default=default,
            help="GATEWAY_* settings as KEY=VALUE lines (as scripts/run saves in data/gateway.env); the environment wins",
        )


def _parser() -> argparse.ArgumentParser:
    parser = _CommandParser(prog=PROG, description="Token service, access control and proxy for a registry.", top=True)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--workers", type=int, default=None, help="worker processes sharing the port (default: server.workers)")
    serve.add_argument("--worker", type=int, nargs="?", const=0, default=None, help=argparse.SUPPRESS)  # its index
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser("setup-url", help="print the web UI's first-run URL (with its one-time code) while no admin exists")

    keys_parser = commands.add_parser("keys", help="token signing keys").add_subparsers(dest="action", required=True)
    generate = keys_parser.add_parser("generate", help="write DIR/token.key and DIR/token.crt")
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--type", choices=("ec", "rsa"), default="ec")

    users = commands.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    add = users.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true")
    add.add_argument("--password-stdin", action="store_true", required=True, help="read the password from stdin")
    for action in ("disable", "enable"):
        users.add_parser(action, help=f"{action} a user").add_argument("name")
    users.add_parser(
        "delete", help="delete a user; a namespace still holding repositories stays reserved"
    ).add_argument("name")
    passwd = users.add_parser("passwd", help="set a user's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", required=True)
    users.add_parser("list", help="list users")

    teams = commands.add_parser("team", help="manage teams").add_subparsers(dest="action", required=True)
    teams.add_parser("add", help="create a team").add_argument("team")
    teams.add_parser("list", help="list teams")
    member = teams.add_parser("member", help="team members").add_subparsers(dest="member_action", required=True)
    member_add = member.add_parser("add", help="add a member or change their role")
    member_add.add_argument("team")
    member_add.add_argument("user")
    member_add.add_argument("--role", choices=ROLES, required=True)
    member_remove = member.add_parser("remove", help="remove a member")
    member_remove.add_argument("team")
    member_remove.add_argument("user")

    namespaces = commands.add_parser("namespace", help="manage namespaces").add_subparsers(dest="action", required=True)
    ns_add = namespaces.add_parser("add", help="create a team namespace")
    ns_add.add_argument("name")
    ns_add.add_argument("--team", required=True)
    ns_add.add_argument("--visibility", choices=VISIBILITIES, default="private")
    ns_update = namespaces.add_parser("update", help="change a namespace's visibility, team, immutable tags or quota")
    ns_update.add_argument("name")
    ns_update.add_argument("--visibility", choices=VISIBILITIES)
    ns_update.add_argument("--team")
    ns_update.add_argument(
        "--immutable-tags", metavar="PATTERNS",
        help="comma-separated patterns of tags that may not move or go, like 'v*,release-*'; '' lifts them",
    )
    cli_quotas.add_commands(namespaces, ns_update)
    namespaces.add_parser("list", help="list namespaces")
    namespaces.add_parser(
        "delete", help="delete a namespace; one still holding repositories stays reserved"
    ).add_argument("name")
    namespaces.add_parser("tombstones", help="list reserved namespaces (deleted with repositories in them)")
    namespaces.add_parser(
        "release", help="free a reserved name; its repositories go to whoever takes it next"
    ).add_argument("name")
    namespaces.add_parser(
        "purge", help="delete a reserved namespace's manifests in the registry, then free the name"
    ).add_argument("name")

    tags = commands.add_parser("tag", help="tags").add_subparsers(dest="action", required=True)
    tags.add_parser(
        "delete", help="delete one tag; the manifest's other tags stay (with none, it stays by digest)"
    ).add_argument("reference", metavar="REPOSITORY:TAG")

    tokens = commands.add_parser("token", help="application tokens").add_subparsers(dest="action", required=True)
    create = tokens.add_parser("create", help="create a token; prints the secret (once) as the last word")
    create.add_argument("user")
    create.add_argument("--name", required=True)
    create.add_argument("--namespace", action="append", default=[], help="limit to this namespace (repeatable)")
    create.add_argument("--actions", default="pull", help="comma-separated: pull,push,delete (default pull)")
    create.add_argument("--expires", default=None, help="lifetime such as 90m, 12h, 30d, 2w (default: none)")
    tokens.add_parser("list", help="list a user's tokens").add_argument("user")
    revoke = tokens.add_parser("revoke", help="revoke a token")
    revoke.add_argument("user")
    revoke.add_argument("name")

    importing = commands.add_parser("import", help="import another registry front end's data").add_subparsers(
        dest="action", required=True
    )
    portus = importing.add_parser(
        "portus", help="import a Portus 2.4/2.5 database: users, teams, namespaces, tokens, webhooks, index, activities"
    )
    source = portus.add_mutually_exclusive_group()
    source.add_argument(
        "--from", dest="source", metavar="mysql://USER:PASS@HOST:PORT/DB",
        help=f"the Portus database (a password here shows in the process list: prefer --from-file or {SOURCE_VARIABLE})",
    )
    source.add_argument("--from-file", type=Path, metavar="PATH", help="a file holding the Portus database's URL")
    portus.add_argument("--dry-run", action="store_true", help="read and check everything, report, write nothing")

    secrets = commands.add_parser("secrets", help="the key sealing stored webhook secrets").add_subparsers(
        dest="action", required=True
    )
    rotate = secrets.add_parser("rotate", help="seal every stored webhook secret with a new key")
    rotate.add_argument(
        "--drop-previous", action="store_true",
        help="keep only the new key in the file (else the previous one stays, for instances not yet restarted)",
    )

    gc = commands.add_parser(
        "gc", help="collect unreferenced blobs in the registry (gc.command); pushes wait on every instance meanwhile"
    )
    gc.add_argument("--dry-run", action="store_true", help="only report what would be deleted; writes go on")

    kept = commands.add_parser("retention", help="tag retention policies").add_subparsers(dest="action", required=True)
    set_policy = kept.add_parser("set", help="set a namespace's policy (or one for repositories matching --repository)")
    set_policy.add_argument("namespace")
    set_policy.add_argument("--repository", metavar="PATTERN", help="a glob of repository paths inside the namespace")
    set_policy.add_argument("--keep-last", metavar="N", type=int, required=True, help="keep the newest N tags of each repository")
    set_policy.add_argument("--keep-pulled-within", metavar="DAYS", type=int, help="also keep tags pulled within DAYS days")
    set_policy.add_argument("--match", metavar="REGEX", help="always keep tags matching REGEX (whole name)")
    set_policy.add_argument("--exclude", metavar="REGEX", help="delete tags matching REGEX (whole name), newest or not")
    set_policy.add_argument("--min-age", metavar="HOURS", type=int, help="never touch tags pushed less than HOURS ago")
    kept.add_parser("show", help="a namespace's policies").add_argument("namespace")
    kept.add_parser("run", help="apply every policy now").add_argument(
        "--dry-run", action="store_true", help="only list the tags that would be deleted"
    )

    config = commands.add_parser("config", help="settings").add_subparsers(dest="action", required=True)
    config.add_parser("show", help="print the effective settings, secrets masked")
    config.add_parser(
        "env", help="print this environment's GATEWAY_* settings as an environment file, paths absolute (secrets included)"
    )
    return parser


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("no password on stdin")
    return password


_MANAGEMENT = frozenset({"user", "team", "namespace", "tag", "token", "secrets", "setup-url", "import", "gc", "retention"})


def _require_database(settings: Settings) -> None:
    """Refuse to manage an empty database made up on the spot in the current directory."""
    if settings.database_is_default and not (settings.data_dir / "gateway.db").exists():
        raise ConfigError(
            "GATEWAY_DATA_DIR",
            f"not set, and there is no database in {Path.cwd() / 'data'}: set it or GATEWAY_DATABASE_URL "
            "(or give --config / --env-file), or use ./portus-gateway of the checkout scripts/run started "
            "the gateway in (it reads the settings saved in data/gateway.env)",
        )


def _services(settings: Settings, store: Store) -> Services:
    """What gateway.services works with, for this command: its revocation view is its own
    (the running gateways read revocations from the store at their next refresh)."""
    return Services(
        store, PasswordHasher(cost=settings.password_cost), RevocationView(), settings.policy_rules(),
        settings.webhooks_allow_private_targets,
    )


async def _with_store(settings: Settings, work: Callable[[Store], Awaitable[None]]) -> None:
    _require_database(settings)
    store = await open_store(settings.effective_database_url)
    try:
        await store.migrate()
        await work(store)
    finally:
        await store.close()


async def _migrate(settings: Settings) -> None:
    store = await open_store(settings.effective_database_url)
    try:
        applied = await store.migrate()
    finally:
        await store.close()
    print(f"applied migrations {', '.join(map(str, applied))}" if applied else "database is up to date")


async def _print_setup_url(settings: Settings) -> None:
    from gateway.services.setup import open_setup
    from gateway.ui.first_run import setup_url

    store = await open_store(settings.effective_database_url)
    try:
        configured = bool(settings.admin_username and settings.admin_password)
        offer = await open_setup(store, load_or_create_sealer(settings.effective_secrets_key_file), admin_configured=configured)
    finally:
        await store.close()
    if offer is None:
        raise CommandError("no setup to do: an admin exists (or GATEWAY_ADMIN_* names one)")
    if offer.code is None:
        raise CommandError("the setup code was made by an instance with another secrets key: its log names the URL")
    print(setup_url(settings, offer.code))


async def _announce_setup(settings: Settings) -> None:
    """The first-run setup URL, logged once by the supervisor (its workers stay quiet)."""
    from gateway.ui.first_run import announce_setup

    store = await open_store(settings.effective_database_url)
    try:
        await announce_setup(settings, store, load_or_create_sealer(settings.effective_secrets_key_file))
    finally:
        await store.close()


def _user_command(settings: Settings, args: argparse.Namespace) -> None:
    name: str = getattr(args, "name", "")
    password = _read_password() if args.action in ("add", "passwd") else ""

    async def work(store: Store) -> None:
        services = _services(settings, store)
        if args.action == "add":
            await users.create_user(services, OPERATOR, name, password, admin=args.admin)
            print(f"user {name} created{' (admin)' if args.admin else ''}")
        elif args.action in ("disable", "enable"):
            changed = await users.update_user(services, OPERATOR, name, users.UserChange(disabled=args.action == "disable"))
            print(f"user {name} {args.action}d")
            if changed.note is not None:
                print(changed.note)
        elif args.action == "delete":
            deletion = await users.delete_user(services, OPERATOR, name)
            print(tombstones.deletion_line(f"user {name}", deletion))
        elif args.action == "passwd":
            changed = await users.update_user(services, OPERATOR, name, users.UserChange(password=password))
            print(f"password of {name} changed; {changed.revoked_logins} stored login(s) (refresh tokens) revoked")
        else:
            for user in await users.list_users(services, OPERATOR):
                flags = [
                    f for f, on in (("admin", user.admin), ("disabled", user.disabled), (user.source, user.source != "local"))
                    if on
                ]
                print(user.name + (f" ({', '.join(flags)})" if flags else ""))

    asyncio.run(_with_store(settings, work))


async def _every(page: Callable[[str, int], Awaitable[tuple[Sequence[T], str | None]]]) -> list[T]:
    """Every item of a paged service list, page after page."""
    items: list[T] = []
    after: str | None = ""
    while after is not None:
        found, after = await page(after, _PAGE)
        items.extend(found)
    return items


def _team_command(settings: Settings, args: argparse.Namespace) -> None:
    async def work(store: Store) -> None:
        services = _services(settings, store)
        if args.action == "list":
            for team in await _every(lambda after, limit: teams.list_teams(services, OPERATOR, after, limit)):
                print(team.name)
        elif args.action == "add":
            await teams.create_team(services, OPERATOR, args.team)
            print(f"team {args.team} created")
        elif args.member_action == "add":
            added = await teams.put_member(services, OPERATOR, args.team, args.user, args.role)
            print(f"{args.user} {'added to' if added else 'now'} {args.team} as {args.role}")
        else:
            await teams.remove_member(services, OPERATOR, args.team, args.user)
            print(f"{args.user} removed from {args.team}")

    asyncio.run(_with_store(settings, work))


def _namespace_command(settings: Settings, args: argparse.Namespace) -> None:
    async def work(store: Store) -> None:
        services = _services(settings, store)
        if args.action == "list":
            listed = await _every(lambda after, limit: namespaces.list_namespaces(services, OPERATOR, after, limit))
            usage = await quotas.quotas_of(services, [ns.name for ns in listed])
            for ns in listed:
                print(cli_quotas.line(ns, usage[ns.name]))
        elif args.action == "show":
            await cli_quotas.show(services, args.name)
        elif args.action == "recount":
            await cli_quotas.recount(services, settings, args.name)
        elif args.action == "tombstones":
            await tombstones.list_tombstones(services)
        elif args.action == "delete":
            deletion = await namespaces.delete_namespace(services, OPERATOR, args.name)
            print(tombstones.deletion_line(f"namespace {args.name}", deletion))
        elif args.action in ("release", "purge"):
            await _tombstone_command(settings, services, args.action, args.name)
        elif args.action == "add":
            await namespaces.create_namespace(services, OPERATOR, args.name, args.team, args.visibility)
            print(f"namespace {args.name} created (team {args.team}, {args.visibility})")
        else:
            if args.quota is not None:
                await cli_quotas.set_quota(services, args.name, args.quota)
            if args.quota is None or args.visibility is not None or args.team is not None or args.immutable_tags is not None:
                await namespaces.update_namespace(
                    services, OPERATOR, args.name, visibility=args.visibility, team=args.team,
                    immutable_tags=args.immutable_tags,
                )
                print(f"namespace {args.name} updated")

    asyncio.run(_with_store(settings, work))


async def _retention_command(settings: Settings, services: Services, args: argparse.Namespace) -> None:
    from gateway import cli_maintenance as maintenance

    if args.action == "set":
        await maintenance.set_retention(services, args)
    elif args.action == "show":
        await maintenance.show_retention(services, args.namespace)
    else:
        await maintenance.run_retention(settings, services, args.dry_run)


async def _tombstone_command(settings: Settings, services: Services, action: str, name: str) -> None:
    """`namespace release | purge NAME`."""
    if action == "release":
        await tombstones.release(services, name)
    else:
        await tombstones.purge(services, settings, name)


def _token_command(settings: Settings, args: argparse.Namespace) -> None:
    async def work(store: Store) -> None:
        services = _services(settings, store)
        if args.action == "create":
            created = await app_tokens.create_token(
                services, OPERATOR, args.user, args.name, namespaces=args.namespace,
                actions=args.actions.split(","), expires=args.expires,
            )
            print(f"token {args.name} for {args.user} created; shown only now: {created.secret}")
        elif args.action == "list":
            for token in await app_tokens.list_tokens(services, OPERATOR, args.user):
                namespaces = ",".join(token.namespaces) or "*"
                until = "never" if token.expires_at is None else rfc3339(token.expires_at)
                imported = f" imported={token.origin}" if token.origin else ""
                actions = ",".join(token.actions)
                print(f"{token.name} id={token.id} namespaces={namespaces} actions={actions} expires={until}{imported}")
        else:
            await app_tokens.revoke_token(services, OPERATOR, args.user, args.name)
            print(f"token {args.name} of {args.user} revoked")

    asyncio.run(_with_store(settings, work))


async def _rotate_secrets(settings: Settings, drop_previous: bool) -> None:
    """A new key first in the key file (the old ones kept until every row is sealed again, so an
    interruption loses nothing), every webhook row sealed with it, then the file trimmed."""
    path = settings.effective_secrets_key_file
    old = read_keys(path) if path.exists() else []
    fresh = new_key()
    write_keys(path, [fresh, *old])
    store = await open_store(settings.effective_database_url)
    try:
        await store.migrate()
        store.use_sealer(Sealer([fresh, *old]))
        sealed, problems = await store.reseal_webhooks()
    finally:
        await store.close()
    if problems:
        raise CommandError(f"{len(problems)} webhook(s) not sealed again, every old key kept in {path}: {problems[0]}")
    write_keys(path, [fresh] if drop_previous or not old else [fresh, old[0]])
    kept = "" if drop_previous or not old else "; the previous key stays in the file for instances not yet restarted"
    print(f"{path}: new key {Sealer([fresh]).current_key_id} seals; {sealed} webhook(s) sealed again{kept}")
    print("restart every gateway instance with the new key file")


async def _import_portus(settings: Settings, args: argparse.Namespace, environ: Mapping[str, str]) -> None:
    """`import portus`: read the Portus database, check and map it, write it in one transaction."""
    from gateway.portus.plan import plan_import
    from gateway.portus.progress import LogProgress, TerminalProgress
    from gateway.portus.source import PortusSourceError, parse_source_url, read_portus
    from gateway.services.portus_import import ImportRefused, import_portus, print_report

    try:
        source, origin = portus_source(args.source, args.from_file, environ, sys.stderr)
        source_url = parse_source_url(source, origin)
        if settings.database_url.startswith("mysql://") and same_database(URL(settings.database_url), source_url):
            raise CommandError(f"{origin} names the gateway's own database: import Portus's into another one")
        progress = TerminalProgress(sys.stderr) if sys.stderr.isatty() else LogProgress()
        plan = plan_import(await read_portus(source, progress.reading))
    except PortusSourceError as exc:
        raise CommandError(str(exc)) from None
    sealer = load_or_create_sealer(settings.effective_secrets_key_file)

    async def work(store: Store) -> None:
        store.use_sealer(sealer)
        try:
            report = await import_portus(_services(settings, store), plan, dry_run=args.dry_run, progress=progress)
        except ImportRefused as exc:
            for problem in exc.problems:
                print(f"problem: {problem}", file=sys.stderr)
            raise CommandError(exc.message) from None
        print_report(report, sys.stdout)

    await _with_store(settings, work)


def same_database(one: URL, other: URL) -> bool:
    return (one.host, one.port or 3306, one.path.strip("/")) == (other.host, other.port or 3306, other.path.strip("/"))


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    """Check keys and certificates first (one line on a bad one), then serve: alone or as a supervisor."""
    from gateway.ops.port_check import PortTaken, refuse_taken_port
    from gateway.ops.serve import run_server, run_workers
    from gateway.ops.tls import CertificateError, ServerCertificate

    try:
        load_or_create_signing_key(settings.token_key_file, settings.token_cert_file, settings.data_dir)
    except KeyFileError as exc:
        raise ConfigError("GATEWAY_TOKEN_KEY_FILE", str(exc)) from None
    try:
        load_or_create_sealer(settings.effective_secrets_key_file)
    except (SecretsKeyError, OSError) as exc:
        raise ConfigError("GATEWAY_SECRETS_KEY_FILE", str(exc)) from None
    try:
        for path in settings.token_previous_cert_files:
            load_verification_key(path)
    except KeyFileError as exc:
        raise ConfigError("GATEWAY_TOKEN_PREVIOUS_CERT_FILES", str(exc)) from None
    certificate = None
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        try:
            certificate = ServerCertificate(settings.tls_cert_file, settings.tls_key_file)
        except CertificateError as exc:
            raise ConfigError("GATEWAY_TLS_CERT_FILE", str(exc)) from None
    workers = settings.server_workers if args.workers is None else args.workers
    if args.worker is not None:
        run_server(settings, certificate, reuse_port=True, announce_setup=False, worker=args.worker)  # the supervisor announced
    elif workers <= 1:
        run_server(settings, certificate)
    else:
        try:
            refuse_taken_port(settings.listen_host, settings.listen_port)
        except PortTaken as exc:
            raise CommandError(str(exc)) from None
        asyncio.run(_migrate(settings))  # once, before the workers race for it
        asyncio.run(_announce_setup(settings))
        config_args = ["--config", str(args.config)] if args.config else []
        config_args += ["--env-file", str(args.env_file)] if args.env_file else []
        if run_workers(config_args, workers) != 0:
            raise CommandError("the workers failed to start (see the log above)")


def run(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    environ = {**(read_env_file(args.env_file) if args.env_file else {}), **os.environ}
    config_file = args.config or (Path(environ[CONFIG_VARIABLE]) if environ.get(CONFIG_VARIABLE) else None)
    settings = load_settings(environ, config_file)
    configure_logging(settings.log_level, settings.log_format)
    if getattr(args, "worker", None) is None:  # once: the supervisor's workers read the same settings
        for note in settings.notes:
            log.warning("%s", note)
    if args.command in _MANAGEMENT:
        _require_database(settings)  # before anything is created in a data dir made up on the spot
    if args.command not in ("keys", "config") and uses_data_dir(settings):
        private_dir(settings.data_dir)
    if args.command == "serve":
        _serve(settings, args)
    elif args.command == "migrate":
        asyncio.run(_migrate(settings))
    elif args.command == "setup-url":
        asyncio.run(_print_setup_url(settings))
    elif args.command == "keys":
        try:
            key_path, cert_path = write_key_pair(args.out, args.type)
        except KeyFileError as exc:
            raise CommandError(str(exc)) from None
        print(f"wrote {key_path} and {cert_path}")
    elif args.command == "user":
        _user_command(settings, args)
    elif args.command == "team":
        _team_command(settings, args)
    elif args.command == "namespace":
        _namespace_command(settings, args)
    elif args.command == "tag":
        from gateway import cli_tags

        asyncio.run(_with_store(settings, lambda store: cli_tags.delete(_services(settings, store), settings, args.reference)))
    elif args.command == "token":
        _token_command(settings, args)
    elif args.command == "gc":
        from gateway import cli_maintenance as maintenance

        asyncio.run(_with_store(settings, lambda store: maintenance.run_gc(settings, _services(settings, store), args.dry_run)))
    elif args.command == "retention":
        asyncio.run(_with_store(settings, lambda store: _retention_command(settings, _services(settings, store), args)))
    elif args.command == "config" and args.action == "env":
        saved = {**environ, CONFIG_VARIABLE: str(config_file)} if config_file else environ
        print(env_file_text(saved, Path.cwd()), end="")
    elif args.command == "secrets":
        asyncio.run(_rotate_secrets(settings, args.drop_previous))
    elif args.command == "import":
        asyncio.run(_import_portus(settings, args, environ))
    elif args.command == "config":
        for key, value in describe(settings).items():
            print(f"{key} = {value}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        run(argv)
    except ConfigError as exc:
        print(f"{PROG}: bad setting {exc}", file=sys.stderr)
        return 2
    except (CommandError, StoreError, KeyFileError, SecretsKeyError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except ServiceError as exc:
        print(f"{PROG}: {exc.message}", file=sys.stderr)
        return 1
    except OSError as exc:  # the machine said no: a port in use, a directory not writable, ...
        print(f"{PROG}: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
