"""Phone numbers to BIGINT keys with Arrow compute functions, each distinct text normalised once.

A key is the BIGINT of `1` followed by the E.164 digits (NULL when the text is not a number): the digits
are the key's text without its first character, leading zeros kept. The rules are those of
`o2o.domain.numbers.sql_normalise` (the same RE2 character classes), so a key's digits equal what that
SQL gives; a batch's texts are dictionary-encoded and only those not seen in an earlier batch of the file
are normalised.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from o2o.domain.operators import NumberingPlan

_PUNCTUATION = r"[\s\-().\/]"  # as `o2o.domain.numbers.sql_clean`


# How long freed pages stay with the pool before they go back to the system (jemalloc's decay, set before
# its arenas exist): longer than a reading takes, so its memory is reused, not handed back and faulted in
# again, and jemalloc's background thread does not spend 3% of a core returning it meanwhile. A caller
# done reading gives them back at once with `POOL.release_unused()`.
DECAY_MS = 30_000


def _pool() -> pa.MemoryPool:
    """Arrow's jemalloc pool where the build has it: it keeps freed pages for the next batch instead of
    returning them to the system and faulting them in again (a third of the CPU time of loading)."""
    if "jemalloc" in pa.supported_memory_backends():
        pa.jemalloc_set_decay_ms(DECAY_MS)
        return pa.jemalloc_memory_pool()
    return pa.default_memory_pool()


POOL = _pool()


def number_keys(texts: pa.Array | pa.ChunkedArray, plan: NumberingPlan) -> pa.ChunkedArray:
    """The BIGINT key of each text (NULL when not a number), normalising each distinct text once."""
    return NumberKeyer(plan)(texts)


class NumberKeyer:
    """Keys of number texts written by one numbering plan, batch after batch: each batch's distinct
    texts are found by dictionary encoding (every chunk of a chunked array gets the same, final,
    dictionary), and only those not seen in an earlier batch are normalised (up to `MEMO_TEXTS`
    remembered; past that, new texts are normalised every time they come)."""

    MEMO_TEXTS = 1 << 20

    def __init__(self, plan: NumberingPlan) -> None:
        self.plan = plan
        self.texts = pa.array([], pa.string())
        self.keys = pa.array([], pa.int64())

    def __call__(self, texts: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
        chunked = texts if isinstance(texts, pa.ChunkedArray) else pa.chunked_array([texts])
        encoded = pc.dictionary_encode(chunked, memory_pool=POOL)
        if encoded.num_chunks == 0:
            return pa.chunked_array([], pa.int64())
        keys = self._dictionary_keys(encoded.chunk(0).dictionary)
        return pa.chunked_array(
            [pc.take(keys, chunk.indices, memory_pool=POOL) for chunk in encoded.chunks], pa.int64()
        )

    def _dictionary_keys(self, dictionary: pa.Array) -> pa.Array:
        if len(self.texts) == 0:
            keys = _normalised_keys(dictionary, self.plan)
            self._remember(dictionary, keys)
            return keys
        position = pc.index_in(dictionary, value_set=self.texts, memory_pool=POOL)
        unseen = pc.is_null(position)
        known = pc.take(self.keys, position, memory_pool=POOL)
        if not pc.any(unseen).as_py():
            return known
        new = pc.filter(dictionary, unseen, memory_pool=POOL)
        new_keys = _normalised_keys(new, self.plan)
        self._remember(new, new_keys)
        return pc.replace_with_mask(known, unseen, new_keys, memory_pool=POOL)

    def _remember(self, texts: pa.Array, keys: pa.Array) -> None:
        if len(self.texts) + len(texts) <= self.MEMO_TEXTS:
            self.texts = pa.concat_arrays([self.texts, texts])
            self.keys = pa.concat_arrays([self.keys, keys])


def _normalised_keys(texts: pa.Array, plan: NumberingPlan) -> pa.Array:
    texts.validate(full=True)  # UTF-8 (a reader may leave it unchecked): ArrowInvalid if not
    clean = pc.replace_substring_regex(texts, _PUNCTUATION, "", memory_pool=POOL)
    conditions = [pc.starts_with(clean, "+")]
    results = [pc.utf8_slice_codeunits(clean, 1, memory_pool=POOL)]
    if plan.international_prefix:
        conditions.append(pc.starts_with(clean, plan.international_prefix))
        results.append(pc.utf8_slice_codeunits(clean, len(plan.international_prefix), memory_pool=POOL))
    if plan.trunk_prefix:
        conditions.append(pc.starts_with(clean, plan.trunk_prefix))
        rest = pc.utf8_slice_codeunits(clean, len(plan.trunk_prefix), memory_pool=POOL)
        results.append(pc.binary_join_element_wise(plan.country_code, rest, "", memory_pool=POOL))
    names = [f"c{i}" for i in range(len(conditions))]
    digits = pc.case_when(pc.make_struct(*conditions, field_names=names), *results, clean, memory_pool=POOL)
    length = pc.binary_length(digits)
    valid = pc.and_kleene(
        pc.and_kleene(pc.greater_equal(length, 3), pc.less_equal(length, 15)), pc.ascii_is_decimal(digits)
    )
    kept = pc.if_else(valid, digits, pa.scalar(None, pa.string()), memory_pool=POOL)
    joined = pc.binary_join_element_wise("1", kept, "", memory_pool=POOL)
    return pc.cast(joined, pa.int64(), memory_pool=POOL)
