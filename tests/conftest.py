"""Session-wide real components: a distribution 2.8 registry and a gateway in front of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from gateway.store import Store, open_store
from tests.support.client import USERS
from tests.support.oidc_provider import OidcProvider
from tests.support.processes import Gateway, Registry, mariadb_database
from tests.support.slapd import Slapd
from tests.support.stores import two_stores

pytest_plugins = ["tests.support.ci_gate"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with a test marked `slow` run first, each file's tests in their own order: the
    workers take files in collection order (`--dist loadfile`), so a long file collected last
    would run alone at the end while the other workers idle."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    instance = Registry(tmp_path_factory.mktemp("registry")).start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """One OpenLDAP directory for the session (tests/support/slapd.py); tests that change it
    change their own people."""
    instance = Slapd(tmp_path_factory.mktemp("slapd")).setup().start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def gateway(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The shared gateway, with an admin and the users of tests.support.client.USERS."""
    instance = Gateway(tmp_path_factory.mktemp("gateway"), registry.url)
    for name, password in USERS.items():
        instance.add_user(name, password)
    instance.start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """One real OpenID provider for the session (see tests/support/oidc_provider.py)."""
    instance = OidcProvider(tmp_path_factory.mktemp("oidc-provider")).start()
    yield instance
    instance.stop()


@pytest.fixture
def make_gateway(registry: Registry, tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    """Start an extra gateway with its own data dir and environment; stopped after the test."""
    started: list[Gateway] = []

    def make(env: dict[str, str] | None = None, upstream_url: str | None = None, *, add_users: bool = True) -> Gateway:
        instance = Gateway(tmp_path / f"gateway{len(started)}", upstream_url or registry.url, dict(env or {}))
        for name, password in USERS.items() if add_users else ():
            instance.add_user(name, password)
        started.append(instance.start())
        return instance

    yield make
    for instance in started:
        instance.stop()


@pytest.fixture(scope="session")
def mariadb_url() -> Iterator[str]:
    """A throw-away MariaDB database for this test run, dropped at the end."""
    url, drop = mariadb_database()
    yield url
    drop()


@pytest.fixture(params=["sqlite", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs once on SQLite and once on a fresh MariaDB database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url, drop = mariadb_database()
    yield url
    drop()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A migrated store, once on SQLite and once on MariaDB (see `database_url`)."""
    opened = await open_store(database_url)
    await opened.migrate()
    yield opened
    await opened.close()


@pytest.fixture
async def two(database_url: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one migrated database, as two instances (or workers) open it: what one
    writes, the other must see; on each store (see `database_url`)."""
    async with two_stores(database_url) as pair:
        yield pair


@pytest.fixture
async def on_mariadb() -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one fresh MariaDB database, for what only MariaDB does (its polled version)."""
    async with two_stores() as pair:
        yield pair


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session without a connection limit, so requests sent at once really are."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as client:
        yield client


@pytest.fixture
def twins_env() -> dict[str, str]:
    """Settings both `twins` share beyond the store; a module overrides this fixture to add some."""
    return {}


@pytest.fixture
def twins(make_gateway: Callable[..., Gateway], database_url: str, twins_env: dict[str, str]) -> tuple[Gateway, Gateway]:
    """Two gateways on one store (once on SQLite, once on MariaDB), as several instances run."""
    env = {"GATEWAY_DATABASE_URL": database_url, **twins_env}
    return make_gateway(env), make_gateway(env, add_users=False)
