"""Config files by name, and configs that extend another config (``base:``).

    memnets fit --config ntm_copy                  # the shipped configs/ntm_copy.yaml
    memnets fit --config ntm_copy.yaml             # the same (a file ntm_copy.yaml here wins)
    memnets fit --config my_experiment.yaml        # any file, as always

The repository's ``configs/`` folder is installed as the package ``memnets.configs``; a config
given by a bare name (no folder) that is not a file is looked up there.

A config may start from another one with a top-level key ``base``::

    base: ntm_copy                  # a shipped name, or a path relative to this file's folder
    trainer:
      max_steps: 2000

:func:`expand_config_args` turns ``--config child.yaml`` into ``--config BASE --config
child.yaml`` before the command line is parsed (recursively: bases may have bases), and
jsonargparse merges consecutive configs so that later ones override earlier ones. The parser
accepts ``base`` as an option that does nothing else (``MemnetsCLI.add_arguments_to_parser``).

Standard library and PyYAML only: no torch, no Lightning.
"""

from __future__ import annotations

import importlib.resources
import json
import os
from collections.abc import Sequence
from pathlib import Path

import yaml

__all__ = [
    "CONFIG_PACKAGE",
    "ConfigError",
    "available_configs",
    "config_chain",
    "expand_config_args",
    "resolve_config",
]

CONFIG_PACKAGE = "memnets.configs"  # the repository's configs/ folder (see pyproject.toml)
CONFIG_OPTIONS = ("--config", "-c")  # LightningCLI's ActionConfigFile options
SUFFIX = ".yaml"


class ConfigError(ValueError):
    """A config that cannot be found, or a cycle of ``base:`` configs."""


# helpers


def _shipped_folder() -> Path:
    return Path(importlib.resources.files(CONFIG_PACKAGE))


def available_configs() -> list[str]:
    """The names of the shipped configs, e.g. ``["memn2n_babi", ..., "ntm_copy", ...]``."""
    return sorted(path.stem for path in _shipped_folder().glob(f"*{SUFFIX}"))


def _is_bare_name(value: str) -> bool:
    return bool(value) and os.sep not in value and (os.altsep or os.sep) not in value


def _find(folder: Path, name: str) -> Path | None:
    """The file ``folder/name``, else ``folder/name.yaml``, if there is one."""
    candidates = [folder / name] + ([] if name.endswith(SUFFIX) else [folder / (name + SUFFIX)])
    return next((path for path in candidates if path.is_file()), None)


def _shipped_config(name: str) -> Path | None:
    """The shipped config called ``name`` (``ntm_copy`` or ``ntm_copy.yaml``), if any."""
    return _find(_shipped_folder(), name) if _is_bare_name(name) else None


def _not_found(value: str, detail: str = "") -> ConfigError:
    return ConfigError(
        f"config {value!r} is neither a file nor a shipped config{detail}; "
        f"shipped configs: {', '.join(available_configs())}"
    )


def _is_config_string(value: str) -> bool:
    """Whether ``value`` is YAML/JSON text, which jsonargparse's ``--config`` also takes."""
    return not Path(value).is_file() and any(mark in value for mark in ":{\n")


def _read_base(path: Path) -> str | None:
    """The value of the top-level key ``base`` in the YAML file ``path``, or None."""
    with open(path, encoding="utf-8") as file:
        content = yaml.safe_load(file)
    base = content.get("base") if isinstance(content, dict) else None
    if base is not None and not isinstance(base, str):
        raise ConfigError(f"{path}: 'base' must be a config name or path, got {base!r}")
    return base


# public functions


def resolve_config(value: str | os.PathLike) -> Path:
    """The config file meant by ``value``: an existing file as given, otherwise the shipped
    config of that name (``ntm_copy`` or ``ntm_copy.yaml``). Raises :class:`ConfigError`,
    listing the shipped names, when it is neither."""
    path = Path(value)
    if path.is_file():
        return path
    shipped = _shipped_config(os.fspath(value))
    if shipped is None:
        raise _not_found(os.fspath(value))
    return shipped


def config_chain(value: str | os.PathLike) -> list[Path]:
    """The config meant by ``value`` preceded by its ``base:`` configs, the root first.

    A base is a path relative to the folder of the config that names it (``.yaml`` may be left
    out), else a shipped name. Raises :class:`ConfigError` on a cycle or a base that cannot be
    found.
    """
    chain = [resolve_config(value)]
    seen = [chain[0].resolve()]
    while (base := _read_base(chain[0])) is not None:
        path = _find(chain[0].parent, base) or _shipped_config(base)
        if path is None:
            raise _not_found(base, f" (the base of {chain[0]})")
        if path.resolve() in seen:
            cycle = " -> ".join(str(item) for item in [*reversed(chain), path])
            raise ConfigError(f"the configs' 'base' keys form a cycle: {cycle}")
        chain.insert(0, path)
        seen.append(path.resolve())
    return chain


YAML_NULLS = ("null", "Null", "NULL", "~")
NESTED = ".init_args."


def _nested_init_arg(option: str) -> bool:
    """An option into a class's arguments inside another class's: ``--model.init_args.model.
    init_args.head_clip`` (one plain name after the last ``.init_args.``)."""
    return (
        option.startswith("--")
        and option.count(NESTED) >= 2
        and "." not in option.rpartition(NESTED)[2]
    )


def _null_as_init_args(option: str, value: str | None) -> list[str]:
    """``--A.init_args.B.init_args.name null`` as ``--A.init_args.B '{"init_args": {"name":
    null}}'``: jsonargparse 4.x rejects null for an option nested that deep (it validates the
    string "None"), but takes it inside the class's ``init_args``. Any other value, or a
    missing one, is left as it is for the parser."""
    if value is None:
        return [option]
    if value not in YAML_NULLS:
        return [option, value]
    prefix, _, name = option.rpartition(NESTED)
    return [prefix, json.dumps({"init_args": {name: None}})]


def expand_config_args(argv: Sequence[str]) -> list[str]:
    """``argv`` with each ``--config X`` (also ``--config=X``, ``-c X``, ``-c=X``) resolved
    by :func:`resolve_config` and preceded by its bases: ``--config ROOT ... --config X``;
    and each ``--A.init_args.B.init_args.name null`` as ``--A.init_args.B '{"init_args":
    {"name": null}}'``, which jsonargparse accepts where it rejects the first.

    The other arguments and their order are kept, so later configs and options still override
    earlier ones. A ``--config`` with no value, or with YAML text instead of a file
    (``--config "trainer: {max_steps: 2}"``), is left as it is for the parser.
    """
    expanded: list[str] = []
    arguments = iter(argv)
    for argument in arguments:
        option, equals, value = argument.partition("=")
        if _nested_init_arg(option):
            if not equals:
                value = next(arguments, None)
            expanded += _null_as_init_args(option, value)
            continue
        if option not in CONFIG_OPTIONS:
            expanded.append(argument)
            continue
        if not equals:
            value = next(arguments, None)
            if value is None:
                expanded.append(argument)
                break
        if _is_config_string(value):
            expanded += [option, value]
            continue
        for path in config_chain(value):
            expanded += ["--config", str(path)]
    return expanded
