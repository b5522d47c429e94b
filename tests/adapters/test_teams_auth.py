"""Teams authentication over real HTTP: a token signed by a key from the (local) OpenID endpoint is
accepted; every forged, malformed or misdirected token gets 401, never 500; an unreachable key
endpoint gets 503 within a few seconds; and a body that is not an activity gets 400."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from aiohttp import web
from botframework.connector.auth import ChannelValidation
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from fakes.teams_activities import activity
from fakes.teams_bot import running_teams_bot

APP_ID = "00000000-0000-0000-0000-000000000a99"
ISSUER = "https://api.botframework.com"


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys():
    return {"k1": new_key(), "other": new_key()}


@pytest.fixture
async def key_server(keys):
    """A local OpenID metadata endpoint publishing the public half of key k1."""
    jwk = json.loads(RSAAlgorithm.to_jwk(keys["k1"].public_key()))
    app = web.Application()
    base = {}

    async def metadata(request):
        return web.json_response({"jwks_uri": base["url"] + "/keys"})

    async def jwks(request):
        return web.json_response({"keys": [{**jwk, "kid": "k1", "use": "sig", "endorsements": ["msteams"]}]})

    app.router.add_get("/openid", metadata)
    app.router.add_get("/keys", jwks)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base["url"] = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    yield base["url"] + "/openid"
    await runner.cleanup()


@pytest.fixture
async def teams_secured(tmp_path, key_server, monkeypatch):
    # Point botbuilder's channel validation at the local endpoint (a fresh URL, so no cached keys).
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", f"{key_server}?{uuid.uuid4().hex}")
    async with running_teams_bot(
        tmp_path,
        teams_app_id=APP_ID,
        teams_app_password="not-a-real-secret",
        teams_allow_unauthenticated=False,
    ) as handle:
        yield handle


def token(key, *, kid="k1", alg="RS256", service_url: str, **claims) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": APP_ID, "serviceurl": service_url, "nbf": now - 60, "exp": now + 600}
    payload.update(claims)
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def invoke(service_url: str) -> dict:
    # An invoke the bot does not handle: answered 200 and nothing, so no reply needs an outbound token.
    return {**activity(service_url, "alex"), "type": "invoke", "name": "some/other-invoke", "value": {}}


async def test_a_properly_signed_token_is_accepted(teams_secured, keys):
    url = teams_secured.connector.service_url
    good = token(keys["k1"], service_url=url)
    status, _ = await teams_secured.post(invoke(url), {"Authorization": f"Bearer {good}"})
    assert status == 200


@pytest.mark.parametrize(
    "forge",
    [
        "another key",
        "unknown key id",
        "HS256 with the app id as secret",
        "no signature",
        "expired",
        "for another bot",
        "another issuer",
        "for another service URL",
        "not a token",
        "no scheme",
    ],
)
async def test_every_forged_or_malformed_token_is_refused_with_401(teams_secured, keys, forge):
    url = teams_secured.connector.service_url
    forged = {
        "another key": lambda: token(keys["other"], service_url=url),
        "unknown key id": lambda: token(keys["k1"], kid="k9", service_url=url),
        "HS256 with the app id as secret": lambda: token(APP_ID, alg="HS256", service_url=url),
        "no signature": lambda: jwt.encode({"iss": ISSUER, "aud": APP_ID}, None, algorithm="none"),
        "expired": lambda: token(keys["k1"], service_url=url, exp=int(time.time()) - 3600),
        "for another bot": lambda: token(keys["k1"], service_url=url, aud="someone-else"),
        "another issuer": lambda: token(keys["k1"], service_url=url, iss="https://evil.example"),
        "for another service URL": lambda: token(keys["k1"], service_url="https://evil.example/"),
        "not a token": lambda: "abc.def",
        "no scheme": lambda: None,
    }[forge]()
    header = {"Authorization": f"Bearer {forged}"} if forged else {"Authorization": "Basic xyz"}
    status, _ = await teams_secured.post(invoke(url), header)
    assert status == 401
    assert teams_secured.connector.sent == []


async def test_an_unreachable_key_endpoint_is_503_and_quick(tmp_path, keys, monkeypatch):
    monkeypatch.setattr(
        ChannelValidation, "open_id_metadata_endpoint", f"http://127.0.0.1:9/openid?{uuid.uuid4().hex}"
    )
    async with running_teams_bot(
        tmp_path,
        teams_app_id=APP_ID,
        teams_app_password="not-a-real-secret",
        teams_allow_unauthenticated=False,
    ) as teams:
        url = teams.connector.service_url
        started = time.monotonic()
        status, _ = await teams.post(
            invoke(url), {"Authorization": f"Bearer {token(keys['k1'], service_url=url)}"}
        )
        assert status == 503
        assert time.monotonic() - started < 12


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[" * 100_000,
        json.dumps([1, 2, 3]),
        json.dumps({"text": "no type"}),
        json.dumps({"type": "message", "text": "no conversation, no sender"}),
        json.dumps(
            {"type": "message", "from": {"id": "29:x"}, "conversation": {"id": "a"}, "serviceUrl": "x"}
        ),
        json.dumps({"type": "message", "value": {"action": {"nested": ["deep"]}}}),
    ],
)
async def test_a_body_that_is_not_an_activity_is_400(teams, body):
    async with teams.session.post(
        teams.url, data=body, headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400


async def test_an_invoke_the_bot_does_not_handle_is_answered_200(teams):
    status, _ = await teams.post(invoke(teams.connector.service_url))
    assert status == 200
