"""The domain: values and rules of settlement, standard library only.

Nothing here imports an adapter, an engine or a third-party library.
"""
