"""The chain adapter: the settlement contract (Vyper), its artifacts, operators' secp256k1 keys, EIP-712
signatures and a web3.py client (local signing, nonces, retries, confirmations, proof-of-authority nodes).

Only the registry service uses it; the engines and the domain never see a chain.
"""

import warnings

# web3 imports its legacy websocket provider, and websockets >= 14 warns on that import (a DeprecationWarning
# that pytest turns into an error): silenced here, precisely, once, for the import only.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"websockets\.legacy is deprecated", category=DeprecationWarning
    )
    import web3  # noqa: F401
