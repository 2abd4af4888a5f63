"""Resolution of a method's parameters for one (profile, data set) from its YAML config.

Each method may have ``benchmarks/suite/configs/methods/<method>.yaml`` (LibMultiLabel-style
example configs)::

    description: one line
    extends: _transformer           # optional: a shared base YAML (_transformer.yaml)
    defaults: {...}                 # constructor keywords
    profiles: {smoke: {...}, cpu: {...}, paper: {..., datasets: {rmsc: {...}}}}
    datasets: {gaic: {...}}

A base named by ``extends`` is merged under the method's YAML key by key (nested
mappings merged, the method's values win), so that methods sharing a recipe (the four
transformer methods) state it once; a file whose name starts with ``_`` is a base, not
a method.

Merge order, later wins: defaults < profiles[p] < datasets[d] < profiles[p].datasets[d]
< the variant's parameters < ``--set key=value`` from the command line. The key
``subset`` is the harness's (row caps per split, never passed to the method): within
the YAML the later layer wins, the profile's caps are a ceiling over the YAML's, and a
variant's or ``--set``'s caps replace both.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lmmtc.data import SPLITS
from lmmtc.registry import get_method

CONFIG_DIR = Path(__file__).resolve().parent / "configs" / "methods"
TOP_LEVEL_KEYS = ("description", "extends", "defaults", "profiles", "datasets")


@dataclass(frozen=True)
class ResolvedConfig:
    """What a cell runs with: the method's keywords and the harness's own options."""

    params: dict[str, Any]
    subset: dict[str, int]
    sources: tuple[str, ...]  # which config layers applied, for the run file


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``over``: nested mappings merged, any other value replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of {', '.join(TOP_LEVEL_KEYS)}")
    unknown = set(data) - set(TOP_LEVEL_KEYS)
    if unknown:
        raise ValueError(
            f"{path}: unknown top-level keys {sorted(unknown)}; expected "
            f"{', '.join(TOP_LEVEL_KEYS)}"
        )
    return data


def load_method_yaml(method: str, config_dir: Path = CONFIG_DIR) -> dict[str, Any]:
    """The parsed YAML of ``method`` with its ``extends`` base merged in, or ``{}`` when it
    has none (external methods)."""
    path = config_dir / f"{method}.yaml"
    if not path.exists():
        return {}
    data = _read_yaml(path)
    seen = {path.stem}
    while "extends" in data:
        base_name = str(data.pop("extends"))
        base_path = config_dir / f"{base_name}.yaml"
        if base_name in seen:
            raise ValueError(f"{path}: 'extends: {base_name}' makes a loop of bases")
        if not base_path.exists():
            raise ValueError(f"{path}: extends {base_name!r}, but {base_path} does not exist")
        seen.add(base_name)
        base = _read_yaml(base_path)
        own_description = data.get("description")
        data = deep_merge(base, data)
        if own_description is None:
            data.pop("description", None)
    return data


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is parsed as YAML (numbers, lists)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--set expects key=value, got {text!r}")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or type(err).__name__
        raise ValueError(
            f"--set {text!r}: the value is not valid YAML ({problem}); close brackets and "
            f"quotes, e.g. --set 'hidden=[64, 32]'"
        ) from None
    if isinstance(parsed, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
        with contextlib.suppress(ValueError):
            parsed = float(parsed)
    key = key.strip()
    if key == "subset":
        parsed = check_subset(parsed, f"--set {text!r}")
    return key, parsed


def check_subset(value: Any, where: str) -> dict[str, int]:
    """Row caps ``{split: rows}`` checked: known splits, whole numbers of at least 1 (a
    negative cap would slice rows off the end instead of capping)."""
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{where}: subset must map splits to row caps, e.g. subset={{train: 300}}, "
            f"got {value!r}"
        )
    caps = {}
    for split, cap in value.items():
        if split not in SPLITS:
            raise ValueError(f"{where}: unknown split {split!r}; expected {', '.join(SPLITS)}")
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ValueError(
                f"{where}: subset {split}: {cap!r} is not a row cap; expected a whole "
                f"number of rows >= 1"
            )
        caps[split] = cap
    return caps


def resolve(
    method: str,
    dataset: str,
    profile: str,
    *,
    profile_subset: Mapping[str, int] | None = None,
    variant_params: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    config_dir: Path = CONFIG_DIR,
) -> ResolvedConfig:
    """Merge the config layers for one cell (see the module docstring for the order)."""
    data = load_method_yaml(method, config_dir)
    profile_block = dict((data.get("profiles") or {}).get(profile) or {})
    profile_datasets = profile_block.pop("datasets", None) or {}
    layers = [
        ("defaults", data.get("defaults") or {}),
        (f"profiles.{profile}", profile_block),
        (f"datasets.{dataset}", (data.get("datasets") or {}).get(dataset) or {}),
        (f"profiles.{profile}.datasets.{dataset}", profile_datasets.get(dataset) or {}),
        ("variant", variant_params or {}),
        ("--set", overrides or {}),
    ]
    params: dict[str, Any] = {}
    yaml_caps: dict[str, int] = {}
    explicit_caps: dict[str, int] = {}
    sources = []
    for name, layer in layers:
        if not layer:
            continue
        sources.append(name)
        for key, value in layer.items():
            if key != "subset":
                params[key] = value
                continue
            caps = explicit_caps if name in ("variant", "--set") else yaml_caps
            caps.update(check_subset(value or {}, f"{method} config, {name}"))
    subset = dict(profile_subset or {})
    for split, cap in yaml_caps.items():  # the profile's caps are a ceiling for the YAML's
        subset[split] = min(cap, subset.get(split, cap))
    subset.update(explicit_caps)
    return ResolvedConfig(params=params, subset=subset, sources=tuple(sources))


#: Parameters that change how a cell is shown or scheduled, not what it computes: a
#: different value does not make a run file stale.
RESULT_NEUTRAL_PARAMS = frozenset({"progress", "num_threads", "eval_batch_size"})


def param_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``key: old -> new`` for each key whose JSON value differs (``<unset>`` where a side
    lacks the key), leaving out :data:`RESULT_NEUTRAL_PARAMS`."""

    def plain(value: Any) -> Any:
        return json.loads(json.dumps(value, sort_keys=True, default=str))

    old, new = plain(old), plain(new)
    unset = "<unset>"
    return [
        f"{prefix}{key}: {old.get(key, unset)!r} -> {new.get(key, unset)!r}"
        for key in sorted(set(old) | set(new))
        if key not in RESULT_NEUTRAL_PARAMS and old.get(key, unset) != new.get(key, unset)
    ]


def changes(params: dict, subset: dict, config: ResolvedConfig) -> list[str]:
    """How a run's stored ``params`` and ``subset`` differ from ``config`` (empty: the
    same computation)."""
    return param_changes(params, config.params) + param_changes(
        subset, config.subset, prefix="subset."
    )


def trained_params(method: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """What ``method`` trains with when given ``params``: for a method whose constructor
    takes ``**params`` only and keeps them in an ``options`` dataclass (the transformer
    methods, whose reading fills ``mlm_lambda`` and the other keys the YAML leaves out)
    that dataclass as built from them; for any other method ``params`` over its
    constructor's defaults. None when the method or its options cannot be built from
    ``params`` (nothing to compare)."""
    try:
        cls = get_method(method).cls
        parameters = list(inspect.signature(cls).parameters.values())
    except Exception:  # noqa: BLE001 - an unknown method or an odd signature: no verdict
        return None
    keywords_only = bool(parameters) and all(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters
    )
    if not keywords_only:
        defaults = {
            p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty
        }
        return {**defaults, **params}
    try:
        options = cls(**params).options
    except Exception:  # noqa: BLE001 - params the method refuses: the run reports them
        return None
    return dataclasses.asdict(options) if dataclasses.is_dataclass(options) else None


def same_as_default(
    method: str,
    dataset: str,
    profile: str,
    variant_params: Mapping[str, Any],
    *,
    profile_subset: Mapping[str, int] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> bool:
    """Whether the cell of ``method`` with ``variant_params`` computes what the method's
    default cell computes on the same data set, profile and ``--set``: the same row caps
    and the same :func:`trained_params` (:data:`RESULT_NEUTRAL_PARAMS` aside). Decided on
    the resolved configs, not on names, so that a variant stops being the default as
    soon as the default changes (Figure 5's ``lambda0.05`` is ``lm_mlm`` while the
    default reading trains at lambda 0.05)."""
    try:
        base = resolve(method, dataset, profile, profile_subset=profile_subset, overrides=overrides)
        variant = resolve(
            method,
            dataset,
            profile,
            profile_subset=profile_subset,
            variant_params=variant_params,
            overrides=overrides,
        )
    except ValueError:  # a broken config is reported by the run, never merged away
        return False
    if param_changes(base.subset, variant.subset):
        return False
    trained = trained_params(method, base.params), trained_params(method, variant.params)
    return None not in trained and not param_changes(*trained)
