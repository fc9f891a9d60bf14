"""The shipped YAML configs, installed as the package ``memnets.configs``.

``memnets fit --config ntm_copy`` finds ``ntm_copy.yaml`` here by name (see
:mod:`memnets.training.configs`); a path to any YAML file works as well.
"""
