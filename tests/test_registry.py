"""The method registry: names, did-you-mean errors, import paths, entry points."""

from __future__ import annotations

import sys
import textwrap

import pytest

from lmmtc import registry
from lmmtc.registry import UnknownMethodError, get_method, list_methods


def test_builtin_trivial_methods_are_registered():
    names = {spec.name for spec in list_methods()}
    assert {"prior", "random"} <= names
    assert get_method("prior").family == "trivial"


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownMethodError, match=r"unknown method 'priorr'\. Did you mean 'prior'"):
        get_method("priorr")


def test_import_path_loads_a_plain_class(tmp_path, monkeypatch):
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(
        textwrap.dedent(
            """
            import numpy as np

            class AllOn:
                '''Predicts every label.'''

                def fit(self, train, dev, *, seed):
                    self.n_labels = train.labels.shape[1]

                def predict_scores(self, texts):
                    return np.ones((len(texts), self.n_labels))

            class NotAMethod:
                def fit(self, train, dev, *, seed):
                    pass
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # no leak to others
    spec = get_method("mypkg.mod:AllOn")
    assert spec.family == "external" and spec.description == "Predicts every label."
    with pytest.raises(TypeError, match="lacks predict_scores"):
        get_method("mypkg.mod:NotAMethod")
    with pytest.raises(UnknownMethodError, match="has no attribute 'Missing'"):
        get_method("mypkg.mod:Missing")
    with pytest.raises(UnknownMethodError, match="cannot import module 'nopkg.x'"):
        get_method("nopkg.x:Foo")
    # the same class through an entry point of an installed distribution
    dist = tmp_path / "myext-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myext\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[lmmtc_bench.methods]\nall_on = mypkg.mod:AllOn\n")
    assert get_method("all_on").cls is spec.cls
    assert "all_on" in {s.name for s in list_methods()}
    sys.modules.pop("mypkg.mod", None)
    sys.modules.pop("mypkg", None)
