"""Command line: serve, keys, users, migrate, config. Same settings and environment as `serve`.

Every expected failure ends in one line on stderr: exit 2 for bad settings or usage, 1 for a
failed operation (store unreachable, unknown user, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import ssl
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import web

from gateway.auth.credentials import hash_password
from gateway.auth.keyfiles import KeyFileError, load_or_create_signing_key, write_key_pair
from gateway.auth.scopes import is_valid_username
from gateway.config import ConfigError, Settings, describe, load_settings
from gateway.store import Conflict, Store, StoreError, open_store

PROG = "portus-gateway"


class CommandError(Exception):
    """A failed operation; the message is the one line shown."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Token service, access control and proxy for a registry.")
    parser.add_argument("--config", type=Path, default=None, help="TOML settings file (default: $GATEWAY_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("serve", help="run the gateway")
    commands.add_parser("migrate", help="apply database migrations")

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
    passwd = users.add_parser("passwd", help="set a user's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", required=True)
    users.add_parser("list", help="list users")

    config = commands.add_parser("config", help="settings").add_subparsers(dest="action", required=True)
    config.add_parser("show", help="print the effective settings, secrets masked")
    return parser


def _read_password() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("no password on stdin")
    return password


async def _with_store(settings: Settings, work: Callable[[Store], Awaitable[None]]) -> None:
    store = await open_store(settings.effective_database_url)
    try:
        await store.migrate()
        await work(store)
    finally:
        await store.close()


def _user_command(settings: Settings, args: argparse.Namespace) -> None:
    name: str = getattr(args, "name", "")
    if args.action != "list" and not is_valid_username(name):
        raise CommandError(f"{name!r} is not a valid user name (lowercase letters, digits, '.', '_', '-')")
    password = _read_password() if args.action in ("add", "passwd") else ""

    async def work(store: Store) -> None:
        if args.action == "add":
            try:
                await store.create_user(name, hash_password(password), admin=args.admin)
            except Conflict:
                raise CommandError(f"user {name!r} already exists") from None
            print(f"user {name} created{' (admin)' if args.admin else ''}")
        elif args.action in ("disable", "enable"):
            if not await store.set_user_disabled(name, args.action == "disable"):
                raise CommandError(f"no such user {name!r}")
            if args.action == "disable":
                await store.revoke_refresh_tokens(name)
            print(f"user {name} {args.action}d")
        elif args.action == "passwd":
            if not await store.set_user_password(name, hash_password(password)):
                raise CommandError(f"no such user {name!r}")
            print(f"password of {name} changed")
        else:
            for user in await store.list_users():
                flags = [f for f, on in (("admin", user.admin), ("disabled", user.disabled)) if on]
                print(user.name + (f" ({', '.join(flags)})" if flags else ""))

    asyncio.run(_with_store(settings, work))


def _ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("GATEWAY_TLS_CERT_FILE", f"cannot load the TLS certificate and key: {exc}") from None
    return context


def _serve(settings: Settings) -> None:
    from gateway.app import create_app

    try:
        load_or_create_signing_key(settings.token_key_file, settings.token_cert_file, settings.data_dir)
    except KeyFileError as exc:
        raise ConfigError("GATEWAY_TOKEN_KEY_FILE", str(exc)) from None
    context = _ssl_context(settings)
    web.run_app(
        create_app(settings), host=settings.listen_host, port=settings.listen_port,
        ssl_context=context, print=None, access_log=logging.getLogger("gateway.access"),
    )


def run(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    config_file = args.config or (Path(os.environ["GATEWAY_CONFIG"]) if os.environ.get("GATEWAY_CONFIG") else None)
    settings = load_settings(os.environ, config_file)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        _serve(settings)
    elif args.command == "migrate":
        async def migrate(store: Store) -> None:
            print("database is up to date")
        asyncio.run(_with_store(settings, migrate))
    elif args.command == "keys":
        try:
            key_path, cert_path = write_key_pair(args.out, args.type)
        except KeyFileError as exc:
            raise CommandError(str(exc)) from None
        print(f"wrote {key_path} and {cert_path}")
    elif args.command == "user":
        _user_command(settings, args)
    elif args.command == "config":
        for key, value in describe(settings).items():
            print(f"{key} = {value}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        run(argv)
    except ConfigError as exc:
        print(f"{PROG}: bad setting {exc}", file=sys.stderr)
        return 2
    except (CommandError, StoreError, KeyFileError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
