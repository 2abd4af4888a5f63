"""The method registry: names -> method classes, with did-you-mean errors.

A method is any class with ``fit(train, dev, *, seed)`` and ``predict_scores(texts)``
(see :class:`lmmtc.method.Method`). Methods reach the registry in three ways, none of
which edits this module:

- an entry point of the ``lmmtc_bench.methods`` group naming a class
  (``tfidf_lr = "mypkg.mod:TfidfLogReg"``) registers that class under its name;
- an entry point of the same group naming a module (``builtin-baselines = "baselines"``)
  is a *provider*: importing it registers its classes through :func:`register_method`.
  The suite's own methods come in this way (``pyproject.toml``), exactly as an outside
  package's would, so this core imports nothing from the packages around it;
- an import path (``mypkg.mod:MyMethod``) given where a method name is expected.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from lmmtc.suggest import did_you_mean

ENTRY_POINT_GROUP = "lmmtc_bench.methods"


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


def _is_provider(entry_point: EntryPoint) -> bool:
    """An entry point naming a module (no ``:attr``) registers methods when imported."""
    return ":" not in entry_point.value


_providers_loaded = False


def _load_providers() -> None:
    """Import every provider module of the entry-point group, once per process."""
    global _providers_loaded
    if _providers_loaded:
        return
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if _is_provider(entry_point):
            entry_point.load()
    _providers_loaded = True


def _entry_points() -> dict[str, EntryPoint]:
    """The class entry points of the group, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if not _is_provider(ep)}


def list_methods() -> list[MethodSpec]:
    """Every registered method, built-in and entry-point ones, sorted by name."""
    _load_providers()
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
    except SyntaxError as err:
        where = f"{err.filename}:{err.lineno}" if err.filename else module_name
        raise UnknownMethodError(
            f"cannot import module {module_name!r} for method {path!r}: {where}: "
            f"{err.msg}; fix the module"
        ) from None
    except Exception as err:  # noqa: BLE001 - the module's own code failed on import
        raise UnknownMethodError(
            f"cannot import module {module_name!r} for method {path!r}: importing it raised "
            f"{type(err).__name__}: {err}"
        ) from None
    try:
        cls = getattr(module, attr)
    except AttributeError:
        classes = [
            name
            for name, value in vars(module).items()
            if isinstance(value, type)
            and not name.startswith("_")
            and callable(getattr(value, "fit", None))
            and callable(getattr(value, "predict_scores", None))
        ]
        hint = did_you_mean(attr, classes) or (
            f" Its method classes: {', '.join(sorted(classes))}."
            if classes
            else " It holds no class with fit and predict_scores."
        )
        raise UnknownMethodError(
            f"module {module_name!r} has no attribute {attr!r}.{hint} Give the method as "
            f"'{module_name}:ClassName'"
        ) from None
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
    _load_providers()
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
