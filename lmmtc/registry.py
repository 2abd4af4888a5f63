"""The method registry: names -> method classes, with did-you-mean errors.

A method is any class with ``fit(train, dev, *, seed)`` and ``predict_scores(texts)``
(see :class:`lmmtc.method.Method`). Built-in methods register themselves with
:func:`register_method`; a method outside the suite is used by import path
(``mypkg.mod:MyMethod``) or through the ``lmmtc_bench.methods`` entry point group,
with no edit to the suite.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points

from lmmtc.suggest import did_you_mean

ENTRY_POINT_GROUP = "lmmtc_bench.methods"
#: Modules whose import registers the suite's own methods.
BUILTIN_MODULES = ("baselines", "lmmtc.transformers")


@dataclass(frozen=True)
class MethodSpec:
    """A registered method: its name, class and a one-line description."""

    name: str
    cls: type
    description: str
    family: str  # "trivial", "linear", "neural", "transformer" or "external"


_REGISTRY: dict[str, MethodSpec] = {}


class UnknownMethodError(KeyError):
    """Raised for a method name that is neither registered nor an import path."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def register_method(name: str, *, family: str, description: str = "") -> Callable[[type], type]:
    """Class decorator that registers a method under ``name``."""

    def decorator(cls: type) -> type:
        existing = _REGISTRY.get(name)
        if existing is not None and existing.cls is not cls:
            raise ValueError(f"method name {name!r} is already registered by {existing.cls}")
        doc = (cls.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = MethodSpec(name, cls, description or (doc[0] if doc else ""), family)
        cls.method_name = name
        return cls

    return decorator


def _load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def _entry_points() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def list_methods() -> list[MethodSpec]:
    """Every registered method, built-in and entry-point ones, sorted by name."""
    _load_builtins()
    for name in _entry_points():
        if name not in _REGISTRY:
            get_method(name)
    return sorted(_REGISTRY.values(), key=lambda spec: spec.name)


def _import_path(path: str) -> MethodSpec:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise UnknownMethodError(
            f"cannot import module {module_name!r} for method {path!r}: {err}. "
            f"Is the package installed or on PYTHONPATH?"
        ) from None
    try:
        cls = getattr(module, attr)
    except AttributeError:
        raise UnknownMethodError(f"module {module_name!r} has no attribute {attr!r}") from None
    check_method_class(cls, path)
    doc = (cls.__doc__ or "").strip().splitlines()
    return MethodSpec(path, cls, doc[0] if doc else "", "external")


def check_method_class(cls: object, name: str) -> None:
    """Fail clearly when ``cls`` lacks the two methods of the method protocol."""
    missing = [m for m in ("fit", "predict_scores") if not callable(getattr(cls, m, None))]
    if missing:
        raise TypeError(
            f"{name!r} is not a method: it lacks {' and '.join(missing)}; a method needs "
            f"fit(train, dev, *, seed) and predict_scores(texts) -> (n, L) probabilities"
        )


def get_method(name: str) -> MethodSpec:
    """Look a method up by registered name, entry-point name or ``module:Class`` path."""
    if ":" in name:
        return _import_path(name)
    _load_builtins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    eps = _entry_points()
    if name in eps:
        cls = eps[name].load()
        check_method_class(cls, name)
        if name not in _REGISTRY:
            doc = (cls.__doc__ or "").strip().splitlines()
            _REGISTRY[name] = MethodSpec(name, cls, doc[0] if doc else "", "external")
        return _REGISTRY[name]
    known = sorted(set(_REGISTRY) | set(eps))
    raise UnknownMethodError(
        f"unknown method {name!r}.{did_you_mean(name, known)} Known methods: {', '.join(known)}. "
        f"A method of your own can be given as 'package.module:ClassName'."
    )
