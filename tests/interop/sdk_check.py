"""Drives the real CapiscIO Python SDKs (capiscio-sdk / capiscio-mcp 2.7.1) for the
interoperability tests in tests/interop_sdk.rs. Prints one JSON object on stdout.

The registry URL points at a closed loopback port: the SDK code paths under test
(key loading, env-var persistence, DID derivation) run without a registry, and the
SDKs treat the refused connection as "registration failed, continue".
"""

import asyncio
import base64
import hashlib
import json
import logging
import os
import socket
import sys
from pathlib import Path

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402
from capiscio_mcp.connect import (  # noqa: E402
    MCPServerIdentity,
    _did_from_ed25519_pub_raw,
    _load_private_key_pem,
)
from capiscio_sdk.connect import _Connector, _read_did_from_keys  # noqa: E402


def closed_loopback_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def b64u(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwk_key_did(jwk: dict) -> dict:
    """What the key in a JWK really is, derived with `cryptography`."""
    key = Ed25519PrivateKey.from_private_bytes(b64u(jwk["d"]))
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "derived_did": _did_from_ed25519_pub_raw(raw),
        "x_matches": raw == b64u(jwk["x"]),
        "fingerprint": hashlib.sha256(raw).hexdigest()[:16],
    }


def connector(agent_id: str, keys_dir: Path) -> _Connector:
    return _Connector(
        api_key="sk_test_interop",
        name=None,
        agent_id=agent_id,
        server_url=closed_loopback_url(),
        keys_dir=keys_dir,
        auto_badge=False,
        dev_mode=True,
    )


def mcp_connect(server_id: str, keys_dir=None) -> MCPServerIdentity:
    """MCPServerIdentity.connect() without a reachable registry or badge."""
    return asyncio.run(
        MCPServerIdentity.connect(
            server_id=server_id,
            api_key="sk_test_interop",
            server_url=closed_loopback_url(),
            keys_dir=keys_dir,
            auto_badge=False,
        )
    )


def agent_dir(path: str) -> dict:
    """(a) The agent SDK reads the DID from public.jwk the way connect() does."""
    d = Path(path)
    out = {"sdk_did": _read_did_from_keys(d)}
    before = (d / "private.jwk").read_bytes()
    # connect()'s identity step on existing keys: must recover, not regenerate.
    out["connect_did"] = connector(d.name, d)._init_identity()
    out["private_unchanged"] = (d / "private.jwk").read_bytes() == before
    out.update(jwk_key_did(json.loads(before)))
    return out


def server_dir(path: str, server_id: str) -> dict:
    """(a) The MCP SDK's PEM loader derives the did:key; connect() recovers the key."""
    d = Path(path)
    pem = (d / "private_key.pem").read_text()
    _, _, _, did = _load_private_key_pem(pem)
    ident = mcp_connect(server_id, d)
    return {
        "sdk_did": did,
        "identity_did": ident.did,
        "private_unchanged": (d / "private_key.pem").read_text() == pem,
    }


def env_agent(keys_dir: str, agent_id: str) -> dict:
    """(b) CAPISCIO_AGENT_PRIVATE_KEY_JWK as the SDK reads it (and persists it)."""
    raw = os.environ["CAPISCIO_AGENT_PRIVATE_KEY_JWK"]
    kd = Path(keys_dir)
    did = connector(agent_id, kd)._init_identity()
    written = json.loads((kd / "private.jwk").read_text())
    out = {"sdk_did": did, "kid": json.loads(raw).get("kid")}
    out.update(jwk_key_did(written))
    return out


def env_server(keys_dir: str, server_id: str) -> dict:
    """(b) CAPISCIO_SERVER_PRIVATE_KEY_PEM as the MCP SDK reads it (and persists it)."""
    raw = os.environ["CAPISCIO_SERVER_PRIVATE_KEY_PEM"]
    _, _, _, did = _load_private_key_pem(raw.replace("\\n", "\n"))
    ident = mcp_connect(server_id, Path(keys_dir))
    persisted = _load_private_key_pem((Path(keys_dir) / "private_key.pem").read_text())[3]
    return {"sdk_did": did, "persisted_did": persisted, "identity_did": ident.did}


def persist(agent_id: str, server_id: str) -> dict:
    """(c) The SDKs write identities from env vars into ~/.capiscio themselves."""
    home = Path.home() / ".capiscio"
    out = {}
    if os.environ.get("CAPISCIO_AGENT_PRIVATE_KEY_JWK"):
        kd = home / "keys" / agent_id
        kd.mkdir(parents=True, exist_ok=True)  # as connect() does before _init_identity
        connector(agent_id, kd)._init_identity()
        out["agent"] = jwk_key_did(json.loads((kd / "private.jwk").read_text()))
    if os.environ.get("CAPISCIO_SERVER_PRIVATE_KEY_PEM"):
        ident = mcp_connect(server_id)
        key, _, _, did = _load_private_key_pem(
            (home / "mcp-servers" / server_id / "private_key.pem").read_text()
        )
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        out["server"] = {
            "key_did": did,
            "identity_did": ident.did,
            "fingerprint": hashlib.sha256(raw).hexdigest()[:16],
        }
    return out


def connect_agent(url: str, api_key: str) -> dict:
    """CapiscIO.connect() against a registry, key from CAPISCIO_AGENT_PRIVATE_KEY_JWK."""
    from capiscio_sdk import CapiscIO

    ident = CapiscIO.connect(api_key=api_key, name="py-agent", server_url=url, auto_badge=False)
    try:
        return {"agent_id": ident.agent_id, "did": ident.did, "keys_dir": str(ident.keys_dir)}
    finally:
        ident.close()


def connect_server(url: str, api_key: str, server_id: str) -> dict:
    """MCPServerIdentity.connect() with a badge, key from CAPISCIO_SERVER_PRIVATE_KEY_PEM."""

    async def run() -> dict:
        ident = await MCPServerIdentity.connect(
            server_id=server_id, api_key=api_key, server_url=url, auto_badge=True
        )
        try:
            return {
                "server_id": ident.server_id,
                "did": ident.did,
                "badge": ident.get_badge(),
                "keys_dir": str(ident.keys_dir),
            }
        finally:
            ident.close()

    return asyncio.run(run())


def connect_agent_id(url: str, api_key: str, agent_id: str) -> dict:
    """CapiscIO.connect() for an existing agent id, keys from ~/.capiscio/keys/<id>/."""
    from capiscio_sdk import CapiscIO

    keys = Path.home() / ".capiscio" / "keys" / agent_id
    before = (keys / "private.jwk").read_bytes()
    ident = CapiscIO.connect(api_key=api_key, agent_id=agent_id, server_url=url, auto_badge=False)
    try:
        return {
            "agent_id": ident.agent_id,
            "did": ident.did,
            "keys_dir": str(ident.keys_dir),
            "key_unchanged": (keys / "private.jwk").read_bytes() == before,
        }
    finally:
        ident.close()


COMMANDS = {
    "connect-agent": connect_agent,
    "connect-agent-id": connect_agent_id,
    "connect-server": connect_server,
    "agent-dir": agent_dir,
    "server-dir": server_dir,
    "env-agent": env_agent,
    "env-server": env_server,
    "persist": persist,
}

if __name__ == "__main__":
    print(json.dumps(COMMANDS[sys.argv[1]](*sys.argv[2:])))
