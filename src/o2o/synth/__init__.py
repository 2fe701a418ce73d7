"""Synthetic operator networks: operators, agreements, both parties' usage files and the planted truth.

`generate_network(SynthOptions(...), out)` writes the folder `o2o generate` describes (docs/generate.md).
"""

from o2o.synth.generator import GeneratedNetwork, generate_network, planned_calls
from o2o.synth.options import SynthOptions

__all__ = ["GeneratedNetwork", "SynthOptions", "generate_network", "planned_calls"]
