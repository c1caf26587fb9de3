"""The same discovery work done with the CapiscIO Python SDKs' own code: read every
identity the way the SDK does and derive its DID. Prints how many it read."""

import json
import sys
from pathlib import Path

from capiscio_mcp.connect import _did_from_ed25519_pub_raw, _load_private_key_pem
from capiscio_sdk.connect import _read_did_from_keys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
import base64

home = Path(sys.argv[1])
out = []
for d in sorted((home / "keys").iterdir()):
    did = _read_did_from_keys(d)  # what connect() reads
    jwk = json.loads((d / "private.jwk").read_text())
    raw = base64.urlsafe_b64decode(jwk["d"] + "=" * (-len(jwk["d"]) % 4))
    pub = Ed25519PrivateKey.from_private_bytes(raw).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    out.append((d.name, did, _did_from_ed25519_pub_raw(pub)))
for d in sorted((home / "mcp-servers").iterdir()):
    _, _, _, did = _load_private_key_pem((d / "private_key.pem").read_text())
    out.append((d.name, did, did))
print(len(out))
