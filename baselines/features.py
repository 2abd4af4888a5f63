"""Text features shared by the classical baselines: TF-IDF vectorisers and tokenisers.

One place decides how each language is cut into tokens, so that BR, CC, LP, RAkEL,
ML-kNN (TF-IDF) and the CNN (token ids) read the same words:

* ``word``: English; lower-cased ``\\w+`` tokens (word n-grams for TF-IDF);
* ``whitespace``: text that is already tokens separated by spaces (GAIC's token ids);
* ``char``: Chinese without a segmenter (RMSC); characters (char n-grams for TF-IDF);
* ``jieba``: Chinese segmented into words by jieba (optional extra ``lmmtc-bench[chinese]``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

ANALYZERS = ("word", "whitespace", "char", "jieba")
_WORD = re.compile(r"\w+")


def _check_analyzer(analyzer: str) -> None:
    if analyzer not in ANALYZERS:
        raise ValueError(f"unknown analyzer {analyzer!r}; expected one of {ANALYZERS}")


def _jieba_cut() -> Callable[[str], list[str]]:
    try:
        import jieba
    except ImportError:
        raise ImportError(
            "analyzer='jieba' needs jieba: pip install 'lmmtc-bench[chinese]' "
            "(or use analyzer='char', which needs no segmenter)"
        ) from None
    return jieba.lcut


def word_tokens(text: str) -> list[str]:
    """Lower-cased ``\\w+`` tokens of English text (module-level, so vectorisers pickle)."""
    return _WORD.findall(text.lower())


def whitespace_tokens(text: str) -> list[str]:
    """Tokens separated by white space, case kept (GAIC's token ids)."""
    return text.split()


def char_tokens(text: str) -> list[str]:
    """Every non-space character (Chinese without segmentation)."""
    return [ch for ch in text if not ch.isspace()]


def jieba_tokens(text: str) -> list[str]:
    """Chinese words segmented by jieba, spaces dropped."""
    return [tok for tok in _jieba_cut()(text) if tok.strip()]


_TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "word": word_tokens,
    "whitespace": whitespace_tokens,
    "char": char_tokens,
    "jieba": jieba_tokens,
}


def tokenizer(analyzer: str) -> Callable[[str], list[str]]:
    """The function that cuts a text into tokens for ``analyzer`` (used by the CNN)."""
    _check_analyzer(analyzer)
    if analyzer == "jieba":
        _jieba_cut()  # fail now, with the install hint, rather than mid-training
    return _TOKENIZERS[analyzer]


def make_vectorizer(
    analyzer: str = "word",
    ngram_range: Sequence[int] = (1, 2),
    *,
    sublinear_tf: bool = True,
    min_df: int | float = 1,
    max_df: int | float = 1.0,
    max_features: int | None = None,
) -> TfidfVectorizer:
    """A TF-IDF vectoriser (L2-normalised rows) for ``analyzer``; ``ngram_range`` counts
    words for word-like analyzers and characters for ``char``."""
    _check_analyzer(analyzer)
    common = dict(
        ngram_range=tuple(ngram_range),
        sublinear_tf=sublinear_tf,
        min_df=min_df,
        max_df=max_df,
        max_features=max_features,
        dtype=np.float64,
    )
    if analyzer == "char":
        # char n-grams inside the text with spaces removed (Chinese has no word breaks)
        return TfidfVectorizer(
            analyzer="char", preprocessor=_strip_spaces, lowercase=False, **common
        )
    return TfidfVectorizer(
        tokenizer=tokenizer(analyzer), token_pattern=None, lowercase=False, **common
    )


def _strip_spaces(text: str) -> str:
    return "".join(text.split()).lower()


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, overflow-safe: maps a decision value 0 to probability 0.5."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))
