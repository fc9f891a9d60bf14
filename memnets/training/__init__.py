"""The Lightning training layer: LightningModules, callbacks and the CLI.

Everything here may import Lightning; the core models in ``memnets`` never do.
"""
