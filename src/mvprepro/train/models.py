"""The methods behind one interface: token ids in, class scores out.

Kinds (selected by ``methods.<name>.kind``; ``untrained: true`` starts any of them from a
randomly initialised backbone of the same architecture):

* ``mlp_ft``: the backbone's standard sequence-classification head (for RoBERTa:
  dense -> tanh -> out_proj on the start token).
* ``projectcls``: tanh(start token) -> dropout -> out_proj, i.e. the MLP head without its
  dense layer.
* ``lpft`` (the reference code's ``lpft``): the ``mlp_ft`` head (dense newly initialised),
  whose output layer is initialised from a logistic-regression probe fitted on tanh(start
  token) of the pretrained encoder (see :mod:`mvprepro.train.probe`), then everything
  fine-tuned. The probe's features are the input of ProjectCLS's output layer, not of this
  head's (its dense layer sits in between): the reference code's recipe, kept as it is.
* ``lpft_sparse`` (the reference code's ``lpft_sparse``): the ``projectcls`` head, its
  output layer initialised from the same probe (so the initialised model predicts what the
  probe predicts), then everything fine-tuned.
* ``clsprompt``: the masked-LM head's scores for the label words, read at the start token,
  with no template.
* ``mvp``: every input is expanded into one sequence per prompt template; the LM head scores
  the label words at the template's mask (for a causal LM such as GPT-2, at the position
  before the mask); class score = max (or mean) over a class's label words, then mean (or
  max) over templates.

The prompt heads apply the LM head's transform only at the read-out positions and project
only onto the label words' rows of the output embedding: the same numbers as the
full-vocabulary logits at every position (a test checks this), at a fraction of the cost.

A kind is a :class:`MethodModel` subclass, named in the config by a built-in name or by the
import path of your own class (:func:`kind_class`; the built-in names are import paths of
the classes below, :data:`mvprepro.names.BUILTIN_KINDS`). Two class attributes tell the
pipeline what a kind needs: ``backbone_head`` (which Hugging Face model the backbone is
loaded as: ``sequence_classification``, ``encoder`` or ``lm``) and ``reads_label_words``
(whether its spec gets the dataset's verbalizer and templates). A kind with ``probe_layer``
and ``probe_features`` methods gets the linear-probe initialisation of LP-FT.

Models are saved with ``save_pretrained(safe_serialization=True)`` next to a ``method.json``
(and ``head.safetensors`` for heads of our own), and loaded without ``trust_remote_code``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForMaskedLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.activations import get_activation

from ..architectures import is_masked_lm
from ..names import BUILTIN_KINDS
from . import prompts

METHOD_FILE = "method.json"
HEAD_FILE = "head.safetensors"


def special_token_counts(tokenizer: PreTrainedTokenizerBase) -> tuple[int, int]:
    """How many special tokens the tokenizer puts before and after a text (GPT-2: none)."""
    probe = tokenizer("a", add_special_tokens=True)["input_ids"]
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    start = probe.index(plain[0]) if plain and plain[0] in probe else 0
    return start, len(probe) - start - len(plain)


class MethodModel(nn.Module):
    """Common interface of every method: ``collate`` ids into a batch, ``forward`` to logits.

    ``__init__(hf_model, tokenizer, spec)``: the backbone as ``backbone_head`` names it, its
    tokenizer, and the method's spec (``kind``, ``name``, ``num_labels``, ``max_length``,
    ``prompt_reserve``, ``backbone``, the config's ``options``; with ``reads_label_words``,
    also ``verbalizer`` and ``templates``). ``forward(input_ids, attention_mask,
    inputs_embeds, **collated)`` returns class scores ``[batch, num_labels]``; adversarial
    training calls it with ``inputs_embeds`` (from :meth:`embed`) instead of ``input_ids``.
    Parameters outside ``hf_model`` are returned by :meth:`extra_modules`, so they are saved.
    """

    backbone_head: ClassVar[str] = "encoder"
    reads_label_words: ClassVar[bool] = False

    def __init__(self, hf_model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, spec: dict[str, Any]):
        super().__init__()
        self.hf = hf_model
        self.tokenizer = tokenizer
        self.spec = spec
        self.num_labels = int(spec["num_labels"])
        self.max_length = int(spec["max_length"])
        self.specials = special_token_counts(tokenizer)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def collate(self, input_ids: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        ids, att = prompts.pad(input_ids, self.tokenizer.pad_token_id)
        return {"input_ids": ids, "attention_mask": att}

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Input embeddings: the space in which adversarial training perturbs inputs."""
        return self.hf.get_input_embeddings()(input_ids)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        **extra: Any,
    ) -> torch.Tensor:
        raise NotImplementedError

    def extra_modules(self) -> dict[str, nn.Module]:
        """Modules of our own (not part of the Hugging Face model), saved to head.safetensors."""
        return {}

    def save(self, out_dir: str | Path) -> None:
        out = Path(out_dir)
        self.hf.save_pretrained(out, safe_serialization=True)
        self.tokenizer.save_pretrained(out)
        extra = {f"{n}.{k}": v.detach().cpu().contiguous() for n, m in self.extra_modules().items() for k, v in m.state_dict().items()}
        if extra:
            save_file(extra, str(out / HEAD_FILE))
        (out / METHOD_FILE).write_text(json.dumps(self.spec, indent=2, sort_keys=True) + "\n")

    def load_extra(self, model_dir: Path) -> None:
        if not self.extra_modules():
            return
        state = load_file(str(model_dir / HEAD_FILE))
        for name, module in self.extra_modules().items():
            module.load_state_dict({k[len(name) + 1 :]: v for k, v in state.items() if k.startswith(name + ".")})


class SequenceClassifier(MethodModel):
    """``mlp_ft``: the architecture's own classification head."""

    backbone_head = "sequence_classification"


    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, **_: Any) -> torch.Tensor:
        return self.hf(input_ids=None if inputs_embeds is not None else input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask).logits


def start_state(hidden: torch.Tensor, attention_mask: torch.Tensor | None, specials: tuple[int, int]) -> torch.Tensor:
    """The start token's final hidden state (the last real token for models without one)."""
    if specials[0] > 0:
        return hidden[:, 0]
    if attention_mask is None:
        return hidden[:, -1]
    last = attention_mask.sum(1) - 1
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]


def classifier_output_layer(hf_model: PreTrainedModel) -> nn.Linear:
    """The last linear layer of a sequence-classification head: the layer LP-FT initialises.

    RoBERTa-style heads (dense -> tanh -> out_proj): ``classifier.out_proj``; BERT-style
    (pooler dense -> tanh -> dropout -> classifier): ``classifier``; GPT-2-style: ``score``.
    """
    head = getattr(hf_model, "classifier", None)
    if isinstance(getattr(head, "out_proj", None), nn.Linear):
        return head.out_proj
    if isinstance(head, nn.Linear):
        return head
    score = getattr(hf_model, "score", None)
    if isinstance(score, nn.Linear):
        return score
    raise ValueError(f"no output layer found in the classification head of {type(hf_model).__name__}; use lpft_sparse with it")


class ProjectClsHead(nn.Module):
    """tanh -> dropout -> out_proj: the classification head with its dense layer removed."""

    def __init__(self, hidden_size: int, num_labels: int, dropout: float, init_std: float = 0.02):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(hidden_size, num_labels)
        # As the reference code's head: Hugging Face's initialisation of a new linear layer.
        nn.init.normal_(self.out_proj.weight, std=init_std)
        nn.init.zeros_(self.out_proj.bias)

    def features(self, pooled: torch.Tensor) -> torch.Tensor:
        return torch.tanh(pooled)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.dropout(self.features(pooled)))


class LinearProbeClassifier(SequenceClassifier):
    """``lpft``: the ``mlp_ft`` head, its output layer initialised from a linear probe before
    fine-tuning (:mod:`.probe`, called by the training loop).

    As the reference code's ``lpft``: the probe is fitted on tanh(start token's final hidden
    state), not on what reaches the output layer (tanh(dense(start token)), dense newly
    initialised), so the initialised model does not predict what the probe predicts.
    """

    def __init__(self, hf_model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, spec: dict[str, Any]):
        super().__init__(hf_model, tokenizer, spec)
        if self.probe_layer().bias is None:
            raise ValueError(
                f"lpft copies the probe's intercept into the output layer of {type(hf_model).__name__}'s head, "
                "which has no bias; use lpft_sparse with this backbone"
            )

    def probe_layer(self) -> nn.Linear:
        """The layer the probe's coefficients are copied into."""
        return classifier_output_layer(self.hf)

    def probe_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """What the probe is fitted on: tanh of the start token's final hidden state."""
        out = self.hf.base_model(input_ids=input_ids, attention_mask=attention_mask)
        return torch.tanh(start_state(out.last_hidden_state, attention_mask, self.specials))


class ProjectionClassifier(MethodModel):
    """``projectcls`` and ``lpft_sparse``: our own head on the encoder's start-token state."""

    def __init__(self, hf_model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, spec: dict[str, Any]):
        super().__init__(hf_model, tokenizer, spec)
        config = hf_model.config
        dropout = getattr(config, "hidden_dropout_prob", None) or getattr(config, "resid_pdrop", 0.1)
        self.head = ProjectClsHead(config.hidden_size, self.num_labels, float(dropout), float(getattr(config, "initializer_range", 0.02)))

    def extra_modules(self) -> dict[str, nn.Module]:
        return {"head": self.head}

    def pooled(self, input_ids=None, attention_mask=None, inputs_embeds=None) -> torch.Tensor:
        """The start token's final hidden state (the last real token for models without one)."""
        out = self.hf(input_ids=None if inputs_embeds is not None else input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask)
        return start_state(out.last_hidden_state, attention_mask, self.specials)

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, **_: Any) -> torch.Tensor:
        return self.head(self.pooled(input_ids, attention_mask, inputs_embeds))


class SparseLinearProbeClassifier(ProjectionClassifier):
    """``lpft_sparse``: the ``projectcls`` head, its output layer initialised from a linear
    probe before fine-tuning (:mod:`.probe`, called by the training loop). The probe's
    features are exactly this output layer's input (without dropout), so the initialised
    model in eval mode predicts what the probe predicts."""

    def probe_layer(self) -> nn.Linear:
        """The layer the probe's coefficients are copied into."""
        return self.head.out_proj

    def probe_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """What the probe is fitted on: tanh of the start token's final hidden state."""
        return self.head.features(self.pooled(input_ids, attention_mask))


class PromptClassifier(MethodModel):
    """``mvp`` (templates) and ``clsprompt`` (no template, read at the start token)."""

    backbone_head = "lm"
    reads_label_words = True

    def __init__(self, hf_model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, spec: dict[str, Any]):
        super().__init__(hf_model, tokenizer, spec)
        self.causal = not is_masked_lm(hf_model.config)
        reading = prompts.reading_for(spec["kind"], hf_model.config.model_type, self.causal)
        self.templates = prompts.encode_templates(tokenizer, spec["templates"], reading, spec["backbone"])
        if spec["kind"] == "mvp" and not self.templates:
            raise prompts.PromptError(f"method {spec.get('name')!r}: MVP needs at least one template")
        if spec["kind"] == "clsprompt":
            if self.templates or self.specials[0] == 0:
                raise prompts.PromptError("clsprompt reads the start token: it takes no templates and needs a backbone with one")
        longest = max((len(t.ids) for t in self.templates), default=0)
        if longest + sum(self.specials) >= self.max_length:
            raise prompts.PromptError(
                f"a template is {longest} tokens long, leaving no room for the input in training.max_length ({self.max_length})"
            )
        if len(spec["verbalizer"]) != self.num_labels:
            raise prompts.PromptError(f"the verbalizer has {len(spec['verbalizer'])} classes but the dataset has {self.num_labels}")
        word_ids, word_classes = prompts.label_word_ids(tokenizer, spec["verbalizer"], spec["backbone"], reading.label_word_space)
        self.register_buffer("word_ids", torch.tensor(word_ids, dtype=torch.long), persistent=False)
        self.register_buffer("word_classes", torch.tensor(word_classes, dtype=torch.long), persistent=False)
        self.pool_words = spec["pool_label_words"]
        self.pool_templates = spec["pool_templates"]
        self._transform = _lm_transform(hf_model)
        if self._transform is None:
            raise prompts.PromptError(
                f"prompt methods know the LM heads of RoBERTa, BERT and GPT-2 style models, not "
                f"{hf_model.config.model_type!r} ({type(hf_model).__name__}); use mlp_ft/projectcls/lpft/lpft_sparse with it"
            )

    @property
    def num_templates(self) -> int:
        return max(len(self.templates), 1)

    def collate(self, input_ids: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        if not self.templates:  # clsprompt: read at the start token
            ids, att = prompts.pad(input_ids, self.tokenizer.pad_token_id)
            return {"input_ids": ids, "attention_mask": att, "mask_index": torch.zeros(len(input_ids), dtype=torch.long)}
        padded, att = prompts.pad(input_ids, self.tokenizer.pad_token_id)
        ids, att, masks = prompts.insert_templates_batched(
            padded, att.sum(1), self.templates, self.max_length, self.specials, self.tokenizer.pad_token_id
        )
        return {"input_ids": ids, "attention_mask": att, "mask_index": masks}

    def label_word_scores(self, hidden: torch.Tensor) -> torch.Tensor:
        """LM scores of the label words only, from hidden states at the read-out [N, H] -> [N, W]."""
        decoder = self.hf.get_output_embeddings()
        h = self._transform(hidden)
        bias = decoder.bias[self.word_ids] if getattr(decoder, "bias", None) is not None else None
        return nn.functional.linear(h, decoder.weight[self.word_ids], bias)

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, mask_index=None, **_: Any) -> torch.Tensor:
        if mask_index is None:
            raise ValueError("prompt methods need mask_index; build batches with collate()")
        out = self.hf.base_model(input_ids=None if inputs_embeds is not None else input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask)
        hidden = out.last_hidden_state
        read = mask_index.to(hidden.device) - (1 if self.causal else 0)  # a causal LM predicts the next token
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        words = self.label_word_scores(hidden[rows, read])
        classes = prompts.pool_label_words(words, self.word_classes, self.num_labels, self.pool_words)
        return prompts.pool_templates(classes, self.num_templates, self.pool_templates)


class ClsPromptClassifier(PromptClassifier):
    """``clsprompt``: the label words' scores read at the start token, with no template."""


def _lm_transform(model: PreTrainedModel):
    """The LM head minus its vocabulary projection, for the head layouts we know."""
    head = getattr(model, "lm_head", None)
    if head is not None and all(hasattr(head, a) for a in ("dense", "layer_norm", "decoder")):
        act = get_activation("gelu")
        return lambda h: head.layer_norm(act(head.dense(h)))  # RoBERTa
    cls = getattr(model, "cls", None)
    if cls is not None and hasattr(cls, "predictions"):
        return cls.predictions.transform  # BERT
    if isinstance(head, nn.Linear):
        return lambda h: h  # GPT-2: the LM head is the (tied) projection alone
    return None


BACKBONE_HEADS = ("sequence_classification", "encoder", "lm")


def kind_class(kind: str, key: str = "methods.<name>.kind") -> type[MethodModel]:
    """The class of ``kind``: a built-in name or ``package.module:Class`` (one mechanism for
    both: a built-in name is the import path of its class). ``key`` names the config entry
    in errors."""
    from .. import plugins

    path = BUILTIN_KINDS.get(kind, kind)
    cls = plugins.resolve(path, key)
    if not (isinstance(cls, type) and issubclass(cls, MethodModel)):
        raise plugins.PluginError(f"{key}: {path!r} is not a subclass of mvprepro.train.models.MethodModel")
    if cls.backbone_head not in BACKBONE_HEADS:
        raise plugins.PluginError(f"{key}: {path!r} sets backbone_head = {cls.backbone_head!r}; use one of {list(BACKBONE_HEADS)}")
    return cls


MODEL_CLASSES: dict[str, type[MethodModel]] = {
    "mlp_ft": SequenceClassifier,
    "projectcls": ProjectionClassifier,
    "lpft": LinearProbeClassifier,
    "lpft_sparse": SparseLinearProbeClassifier,
    "clsprompt": ClsPromptClassifier,
    "mvp": PromptClassifier,
}


def _auto_class(cls: type[MethodModel], config: Any):
    if cls.backbone_head == "sequence_classification":
        return AutoModelForSequenceClassification
    if cls.backbone_head == "encoder":
        return AutoModel
    return AutoModelForMaskedLM if is_masked_lm(config) else AutoModelForCausalLM


def _construct(cls: type[MethodModel], hf: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, spec: dict[str, Any]) -> MethodModel:
    """``cls(hf, tokenizer, spec)``; a user's class that raises is named with its config key."""
    if spec["kind"] in BUILTIN_KINDS:
        return cls(hf, tokenizer, spec)
    from ..plugins import PluginError

    try:
        return cls(hf, tokenizer, spec)
    except Exception as err:
        raise PluginError(f"methods.{spec.get('name')}.kind: {spec['kind']!r} raised {type(err).__name__} when built: {err}") from err


def build(backbone_dir: str | Path, spec: dict[str, Any]) -> MethodModel:
    """Create a method's model from the backbone; ``untrained`` gives random weights instead.

    New parameters (heads, or everything when untrained) come from torch's global generator,
    which the caller seeds.
    """
    cls = kind_class(spec["kind"], f"methods.{spec.get('name')}.kind")
    tokenizer = AutoTokenizer.from_pretrained(backbone_dir, trust_remote_code=False)
    config = AutoConfig.from_pretrained(backbone_dir, trust_remote_code=False)
    auto = _auto_class(cls, config)
    kwargs: dict[str, Any] = {"num_labels": int(spec["num_labels"])} if cls.backbone_head == "sequence_classification" else {}
    if spec.get("untrained"):
        for key, value in kwargs.items():
            setattr(config, key, value)
        hf = auto.from_config(config, trust_remote_code=False)
    else:
        hf = auto.from_pretrained(backbone_dir, trust_remote_code=False, **kwargs)
    if getattr(hf.config, "pad_token_id", None) is None:
        hf.config.pad_token_id = tokenizer.pad_token_id
    return _construct(cls, hf, tokenizer, spec)


def check_output(model: MethodModel, logits: Any, batch: int) -> None:
    """That ``forward`` returned class scores ``[batch, num_labels]`` (a user's kind may not)."""
    expected = (batch, model.num_labels)
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != expected or not logits.is_floating_point():
        got = f"a tensor of shape {tuple(logits.shape)} ({logits.dtype})" if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(
            f"methods.{model.spec.get('name')}.kind: {model.spec['kind']!r}: forward returned {got}; "
            f"expected float class scores of shape {expected} (batch, num_labels)"
        )


def load(model_dir: str | Path) -> MethodModel:
    """Load a trained model saved by :meth:`MethodModel.save` (safetensors only)."""
    model_dir = Path(model_dir)
    spec = json.loads((model_dir / METHOD_FILE).read_text())
    cls = kind_class(spec["kind"], f"methods.{spec.get('name')}.kind")
    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
    config = AutoConfig.from_pretrained(model_dir, trust_remote_code=False)
    hf = _auto_class(cls, config).from_pretrained(model_dir, use_safetensors=True, trust_remote_code=False)
    model = _construct(cls, hf, tokenizer, spec)
    model.load_extra(model_dir)
    model.eval()
    return model
