"""The chain adapter: the settlement contract (Vyper), its artifacts, operators' secp256k1 keys, EIP-712
signatures and a web3.py client (local signing, nonces, retries, confirmations, proof-of-authority nodes).

Only the registry service uses it; the engines and the domain never see a chain.
"""
