"""TAP 3.x and RAP files (GSMA TD.57 and TD.32): read with a grammar the user supplies, streamed.

`grammar` compiles the user's ASN.1 folder (or the project's subset, `grammar.SUBSET_DIR`); `ber` walks
the outer TLVs and makes indefinite lengths definite; `reader.TapBatch` yields a batch's call events one
at a time as `events.TapEvent`s and checks its audit control totals; `rap` reads the returns of a RAP
file; `writer` encodes batches (tests, benchmarks, samples). An adapter: it imports the domain only.
"""
