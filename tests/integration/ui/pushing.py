"""Pushing small images from the browser tests, whose thread Playwright's sync API holds."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import aiohttp

from tests.support.client import USERS, fetch_token
from tests.support.images import push_image
from tests.support.processes import Gateway


async def _push_all(gateway: Gateway, pushes: list[tuple[str, str, str]], passwords: Mapping[str, str]) -> None:
    async with aiohttp.ClientSession() as session:
        for user, repository, tag in pushes:
            body = await fetch_token(session, gateway.url, gateway.host, user, passwords[user], f"repository:{repository}:pull,push")
            headers = {"Authorization": f"Bearer {body['token']}"}
            await push_image(session, gateway.url, repository, tag, headers, seed=tag)


def push_images(gateway: Gateway, pushes: list[tuple[str, str, str]], passwords: Mapping[str, str] = USERS) -> None:
    """Push (user, repository, tag) in order, each a one-layer image, in a thread of its own
    (this thread's event loop belongs to Playwright while a browser is open). `passwords`: the
    users' (the test users of tests.support.client unless told)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _push_all(gateway, pushes, passwords)).result()
