# pragma version ~=0.4.3
# pragma evm-version paris
"""
@title O2O Settle: the settlement registry of a consortium of operators
@notice Every registration of the settlement cycle: declaration digests, statements agreed with both
        parties' EIP-712 signatures, obligations, netting rounds (registered by the hub, accepted by each
        participant), set-offs, payments, and the central ledger's signed tree heads (anchored mode).
        Digests and amounts only: no names, numbers or documents go on chain.
@dev Governance rule: the founding participants are named at deployment; a new participant is admitted
     when a strict majority of the current participants have approved it (approveParticipant).
     The hub (the platform operator) relays registrations and pays for gas; it is not a participant and
     cannot sign for one: a statement needs both parties' signatures, a round each participant's.
     Every registration has a `key` (the central ledger entry's hash); a key is registered once, so a
     client that resumes after a crash cannot register anything twice.
     Signatures are EIP-712 over a domain naming this chain id and this contract's address, so a
     signature made for another chain or another deployment does not verify here.
"""

MAX_PARTICIPANTS: constant(uint256) = 64
# secp256k1 n / 2: a signature with a higher s is the malleated twin of a valid one and is refused
HALF_N: constant(uint256) = 57896044618658097711785492504343953926418782139537452191302581570759080747168

DOMAIN_TYPEHASH: constant(bytes32) = keccak256(
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
NAME_HASH: constant(bytes32) = keccak256("O2O Settle")
VERSION_HASH: constant(bytes32) = keccak256("1")
STATEMENT_TYPEHASH: constant(bytes32) = keccak256("Statement(bytes32 digest,bytes32 subject)")
ROUND_TYPEHASH: constant(bytes32) = keccak256("RoundAcceptance(bytes32 digest,bytes32 subject)")


event ParticipantApproved:
    candidate: indexed(address)
    approver: indexed(address)
    approvals: uint256

event ParticipantAdded:
    participant: indexed(address)
    approvals: uint256

event DeclarationRegistered:
    key: indexed(bytes32)
    subject: indexed(bytes32)
    digest: bytes32
    declarant: address

event StatementRegistered:
    key: indexed(bytes32)
    subject: indexed(bytes32)
    digest: bytes32
    party_a: address
    party_b: address

event ObligationRegistered:
    key: indexed(bytes32)
    subject: indexed(bytes32)
    digest: bytes32
    debtor: address
    creditor: address
    amount: uint256
    remaining: uint256
    currency: bytes3

event RoundRegistered:
    key: indexed(bytes32)
    subject: indexed(bytes32)
    digest: bytes32
    participants: uint256

event SetOffRegistered:
    key: indexed(bytes32)
    round: indexed(bytes32)
    obligation: bytes32
    amount: uint256
    currency: bytes3

event RoundAccepted:
    subject: indexed(bytes32)
    participant: indexed(address)
    accepted: uint256
    participants: uint256

event PaymentRegistered:
    key: indexed(bytes32)
    subject: indexed(bytes32)
    digest: bytes32
    payer: address
    payee: address
    amount: uint256
    currency: bytes3

event FactRegistered:
    key: indexed(bytes32)
    subject: indexed(bytes32)
    digest: bytes32
    kind: bytes32

event HeadAnchored:
    tree_size: indexed(uint256)
    root: bytes32
    timestamp: uint256
    signature: Bytes[64]


struct Round:
    digest: bytes32
    participants: uint256
    accepted: uint256


hub: public(address)
is_participant: public(HashMap[address, bool])
participant_count: public(uint256)
approvals: public(HashMap[address, HashMap[address, bool]])
approval_count: public(HashMap[address, uint256])

# key (the ledger entry's hash) -> block number of its registration (0: never registered)
registered: public(HashMap[bytes32, uint256])
registrations: public(uint256)
# statement digest -> registered (a statement is agreed once)
statements: public(HashMap[bytes32, bool])
# round subject -> the round; round subject -> participant -> must accept / has accepted
rounds: public(HashMap[bytes32, Round])
in_round: public(HashMap[bytes32, HashMap[address, bool]])
accepted: public(HashMap[bytes32, HashMap[address, bool]])
# anchored mode: the largest tree size anchored and its root
anchored_size: public(uint256)
anchored_root: public(bytes32)


@deploy
def __init__(hub: address, founders: DynArray[address, MAX_PARTICIPANTS]):
    assert hub != empty(address), "hub is the zero address"
    self.hub = hub
    for founder: address in founders:
        assert founder != empty(address) and founder != hub, "bad founder"
        assert not self.is_participant[founder], "founder named twice"
        self.is_participant[founder] = True
        log ParticipantAdded(participant=founder, approvals=0)
    self.participant_count = len(founders)


@view
@external
def domain_separator() -> bytes32:
    return self._domain_separator()


@view
@internal
def _domain_separator() -> bytes32:
    return keccak256(abi_encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, chain.id, self))


@view
@external
def statement_hash(digest: bytes32, subject: bytes32) -> bytes32:
    """The EIP-712 hash a party signs to agree a statement."""
    return self._typed(STATEMENT_TYPEHASH, digest, subject)


@view
@external
def round_hash(digest: bytes32, subject: bytes32) -> bytes32:
    """The EIP-712 hash a participant signs to accept a netting round."""
    return self._typed(ROUND_TYPEHASH, digest, subject)


@view
@internal
def _typed(typehash: bytes32, digest: bytes32, subject: bytes32) -> bytes32:
    inner: bytes32 = keccak256(abi_encode(typehash, digest, subject))
    return keccak256(concat(b"\x19\x01", self._domain_separator(), inner))


@pure
@internal
def _signer(message: bytes32, signature: Bytes[65]) -> address:
    assert len(signature) == 65, "signature is not 65 bytes"
    r: uint256 = convert(extract32(signature, 0), uint256)
    s: uint256 = convert(extract32(signature, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if v < 27:
        v += 27
    assert v == 27 or v == 28, "bad signature v"
    assert s <= HALF_N, "malleable signature"
    signer: address = ecrecover(message, v, r, s)
    assert signer != empty(address), "bad signature"
    return signer


@internal
def _only_registrar():
    assert msg.sender == self.hub or self.is_participant[msg.sender], "not a participant"


@internal
def _only_hub():
    assert msg.sender == self.hub, "only the hub"


@internal
def _claim(key: bytes32):
    assert key != empty(bytes32), "empty key"
    assert self.registered[key] == 0, "already registered"
    self.registered[key] = block.number
    self.registrations += 1


@external
def approveParticipant(candidate: address):
    """A participant approves a candidate; a strict majority of the participants admits it."""
    assert self.is_participant[msg.sender], "not a participant"
    assert candidate != empty(address) and candidate != self.hub, "bad candidate"
    assert not self.is_participant[candidate], "already a participant"
    assert not self.approvals[candidate][msg.sender], "already approved"
    assert self.participant_count < MAX_PARTICIPANTS, "consortium full"
    self.approvals[candidate][msg.sender] = True
    count: uint256 = self.approval_count[candidate] + 1
    self.approval_count[candidate] = count
    log ParticipantApproved(candidate=candidate, approver=msg.sender, approvals=count)
    if count * 2 > self.participant_count:
        self.is_participant[candidate] = True
        self.participant_count += 1
        log ParticipantAdded(participant=candidate, approvals=count)


@external
def registerDeclaration(key: bytes32, subject: bytes32, digest: bytes32, declarant: address):
    self._only_registrar()
    assert self.is_participant[declarant], "declarant is not a participant"
    self._claim(key)
    log DeclarationRegistered(key=key, subject=subject, digest=digest, declarant=declarant)


@external
def registerStatement(
    key: bytes32,
    subject: bytes32,
    digest: bytes32,
    party_a: address,
    party_b: address,
    signature_a: Bytes[65],
    signature_b: Bytes[65],
):
    """A statement agreed by both parties: each one's EIP-712 signature over (digest, subject)."""
    self._only_registrar()
    assert party_a != party_b, "a statement needs two parties"
    assert self.is_participant[party_a] and self.is_participant[party_b], "party is not a participant"
    assert not self.statements[digest], "statement already registered"
    message: bytes32 = self._typed(STATEMENT_TYPEHASH, digest, subject)
    assert self._signer(message, signature_a) == party_a, "signature of party a does not verify"
    assert self._signer(message, signature_b) == party_b, "signature of party b does not verify"
    self._claim(key)
    self.statements[digest] = True
    log StatementRegistered(key=key, subject=subject, digest=digest, party_a=party_a, party_b=party_b)


@external
def registerObligation(
    key: bytes32,
    subject: bytes32,
    digest: bytes32,
    debtor: address,
    creditor: address,
    amount: uint256,
    remaining: uint256,
    currency: bytes3,
):
    self._only_hub()
    assert self.is_participant[debtor] and self.is_participant[creditor], "party is not a participant"
    assert remaining <= amount, "remaining exceeds amount"
    self._claim(key)
    log ObligationRegistered(
        key=key, subject=subject, digest=digest, debtor=debtor, creditor=creditor,
        amount=amount, remaining=remaining, currency=currency,
    )


@external
def registerRound(
    key: bytes32, subject: bytes32, digest: bytes32, participants: DynArray[address, MAX_PARTICIPANTS]
):
    """The hub registers a netting round; each of its participants must then accept it."""
    self._only_hub()
    assert self.rounds[subject].digest == empty(bytes32), "round already registered"
    for p: address in participants:
        assert self.is_participant[p], "round member is not a participant"
        assert not self.in_round[subject][p], "round member named twice"
        self.in_round[subject][p] = True
    self._claim(key)
    self.rounds[subject] = Round(digest=digest, participants=len(participants), accepted=0)
    log RoundRegistered(key=key, subject=subject, digest=digest, participants=len(participants))


@external
def registerSetOff(key: bytes32, round: bytes32, obligation: bytes32, amount: uint256, currency: bytes3):
    self._only_hub()
    assert self.rounds[round].digest != empty(bytes32), "unknown round"
    self._claim(key)
    log SetOffRegistered(key=key, round=round, obligation=obligation, amount=amount, currency=currency)


@external
def acceptRound(subject: bytes32, participant: address, signature: Bytes[65]):
    """A participant's acceptance of a round: its EIP-712 signature, relayed by anyone who registers."""
    self._only_registrar()
    r: Round = self.rounds[subject]
    assert r.digest != empty(bytes32), "unknown round"
    assert self.in_round[subject][participant], "not a member of the round"
    assert not self.accepted[subject][participant], "already accepted"
    message: bytes32 = self._typed(ROUND_TYPEHASH, r.digest, subject)
    assert self._signer(message, signature) == participant, "acceptance signature does not verify"
    self.accepted[subject][participant] = True
    r.accepted += 1
    self.rounds[subject] = r
    log RoundAccepted(subject=subject, participant=participant, accepted=r.accepted, participants=r.participants)


@external
def registerPayment(
    key: bytes32,
    subject: bytes32,
    digest: bytes32,
    payer: address,
    payee: address,
    amount: uint256,
    currency: bytes3,
):
    self._only_hub()
    assert self.is_participant[payer] and self.is_participant[payee], "party is not a participant"
    self._claim(key)
    log PaymentRegistered(
        key=key, subject=subject, digest=digest, payer=payer, payee=payee, amount=amount, currency=currency
    )


@external
def registerFact(key: bytes32, subject: bytes32, digest: bytes32, kind: bytes32):
    """Any other registration of the cycle (a transition, a dispute step, a key): its digest only."""
    self._only_hub()
    self._claim(key)
    log FactRegistered(key=key, subject=subject, digest=digest, kind=kind)


@external
def anchorHead(tree_size: uint256, root: bytes32, timestamp: uint256, signature: Bytes[64]):
    """Anchored mode: the hub's signed tree head of the central ledger; sizes only grow."""
    self._only_hub()
    assert tree_size > self.anchored_size, "tree head does not grow"
    self.anchored_size = tree_size
    self.anchored_root = root
    log HeadAnchored(tree_size=tree_size, root=root, timestamp=timestamp, signature=signature)
