"""Configs by name and ``base:`` chains (memnets.training.configs), by hand on small files."""

import sys
from pathlib import Path

import pytest
import yaml

from memnets.training.cli import main
from memnets.training.configs import (
    ConfigError,
    available_configs,
    config_chain,
    expand_config_args,
    resolve_config,
)

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, content: dict) -> Path:
    path.write_text(yaml.safe_dump(content))
    return path


def test_a_shipped_name_resolves_with_or_without_the_suffix():
    path = resolve_config("ntm_copy")
    assert path.name == "ntm_copy.yaml" and path.is_file()
    assert resolve_config("ntm_copy.yaml") == path
    assert path.read_text() == (ROOT / "configs" / "ntm_copy.yaml").read_text()
    assert {"ntm_copy", "memn2n_babi"} <= set(available_configs())


def test_a_path_is_returned_as_given(tmp_path, monkeypatch):
    config = write(tmp_path / "mine.yaml", {"trainer": {"max_steps": 3}})
    assert resolve_config(config) == config
    assert resolve_config(str(config)) == config
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ntm_copy.yaml", {})  # a file here wins over the shipped name
    assert resolve_config("ntm_copy.yaml") == Path("ntm_copy.yaml")


def test_an_unknown_name_lists_the_shipped_configs(tmp_path):
    with pytest.raises(ConfigError, match=r"'ntm_cpy'.*shipped configs: .*ntm_copy"):
        resolve_config("ntm_cpy")
    with pytest.raises(ConfigError, match="neither a file"):
        resolve_config(tmp_path / "missing.yaml")  # a path is not looked up by name


def test_bases_chain_root_first(tmp_path):
    (tmp_path / "sub").mkdir()
    root = write(tmp_path / "root.yaml", {"trainer": {"max_steps": 1}})
    middle = write(tmp_path / "sub" / "middle.yaml", {"base": "../root.yaml"})
    leaf = write(tmp_path / "sub" / "leaf.yaml", {"base": "middle"})  # .yaml may be left out
    assert config_chain(leaf) == [root.parent / "sub" / "../root.yaml", middle, leaf]
    shipped = write(tmp_path / "copy_small.yaml", {"base": "ntm_copy"})  # a shipped name
    assert config_chain(shipped) == [*config_chain("ntm_copy"), shipped]
    assert config_chain("ntm_copy")[-1] == resolve_config("ntm_copy")
    assert config_chain(root) == [root]


def test_expand_inserts_bases_before_each_config_and_keeps_the_rest(tmp_path):
    root = write(tmp_path / "root.yaml", {"seed_everything": 1})
    leaf = write(tmp_path / "leaf.yaml", {"base": "root.yaml"})
    other = write(tmp_path / "other.yaml", {"seed_everything": 2})
    argv = ["fit", f"--config={leaf}", "--trainer.max_steps", "2", "-c", str(other)]
    assert expand_config_args(argv) == [
        "fit",
        "--config", str(root), "--config", str(leaf),
        "--trainer.max_steps", "2",
        "--config", str(other),
    ]  # fmt: skip
    shipped = [item for path in config_chain("ntm_copy") for item in ("--config", str(path))]
    assert expand_config_args(["fit", "--config", "ntm_copy"]) == ["fit", *shipped]
    assert expand_config_args(["-c=ntm_copy.yaml"]) == shipped


def test_expand_leaves_config_strings_and_a_missing_value_to_the_parser():
    text = "trainer: {max_steps: 2}"
    assert expand_config_args(["fit", "--config", text]) == ["fit", "--config", text]
    assert expand_config_args(["fit", "--config"]) == ["fit", "--config"]
    assert expand_config_args(["fit", "--configs", "x"]) == ["fit", "--configs", "x"]


def test_a_cycle_of_bases_is_an_error(tmp_path):
    first = write(tmp_path / "first.yaml", {"base": "second.yaml"})
    write(tmp_path / "second.yaml", {"base": "first"})
    with pytest.raises(ConfigError, match=r"cycle: .*first.yaml -> .*second.yaml -> .*first"):
        expand_config_args(["fit", "--config", str(first)])
    itself = write(tmp_path / "itself.yaml", {"base": "itself.yaml"})
    with pytest.raises(ConfigError, match="cycle"):
        config_chain(itself)


def test_a_missing_base_names_the_config_that_wants_it(tmp_path):
    leaf = write(tmp_path / "leaf.yaml", {"base": "nowhere"})
    with pytest.raises(ConfigError, match=r"'nowhere'.*base of .*leaf.yaml.*ntm_copy"):
        config_chain(leaf)
    with pytest.raises(ConfigError, match="must be a config name"):
        config_chain(write(tmp_path / "bad.yaml", {"base": 3}))


def test_the_cli_merges_a_base_under_its_config(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["memnets"])  # as from a shell: arguments in args only
    leaf = write(tmp_path / "leaf.yaml", {"base": "ntm_copy", "trainer": {"max_steps": 7}})
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", str(leaf), "--print_config"])
    assert exit_info.value.code in (0, None)
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["trainer"]["max_steps"] == 7  # the config
    assert printed["trainer"]["max_time"] == "00:00:10:00"  # its base
    assert printed["base"] == "ntm_copy"


def test_the_cli_reports_an_unknown_config_by_name(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["memnets", "fit", "--config", "ntm_cpy"])
    with pytest.raises(SystemExit) as exit_info:
        main()  # sys.argv, as the console script runs it
    assert exit_info.value.code == 2
    assert "shipped configs:" in capsys.readouterr().err


def test_expand_writes_a_nested_null_into_the_class_init_args():
    inner = "--model.init_args.model"
    assert expand_config_args([f"{inner}.init_args.head_clip", "null", "fit"])[:2] == [
        inner,
        '{"init_args": {"head_clip": null}}',
    ]
    assert expand_config_args([f"{inner}.init_args.head_clip=~"]) == [
        inner,
        '{"init_args": {"head_clip": null}}',
    ]
    # other values, one level deep, a dotted name and a missing value: for the parser
    kept = [
        [f"{inner}.init_args.head_clip", "20"],
        ["--model.init_args.lr_decay", "null"],
        [f"{inner}.init_args.a.b", "null"],
        [f"{inner}.init_args.head_clip"],
    ]
    for argv in kept:
        assert expand_config_args(argv) == argv
    assert expand_config_args([f"{inner}.init_args.head_clip=20"]) == [
        f"{inner}.init_args.head_clip",
        "20",
    ]


def test_the_cli_sets_a_nested_option_to_null_and_keeps_the_rest(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["memnets"])
    model = "--model.init_args.model.init_args"
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", "ntm_associative_recall_ff", f"{model}.parameter_init", "null",
              f"{model}.head_clip", "5", "--print_config"])  # fmt: skip
    assert exit_info.value.code in (0, None)
    printed = yaml.safe_load(capsys.readouterr().out)["model"]["init_args"]["model"]
    # the config sets parameter_init: pytorch_ntm, controller: feedforward
    assert printed["class_path"] == "memnets.ntm.NTM"
    assert printed["init_args"]["parameter_init"] is None
    assert printed["init_args"]["head_clip"] == 5.0
    assert printed["init_args"]["controller"] == "feedforward"
    assert printed["init_args"]["initial_focus"] == "uniform"
