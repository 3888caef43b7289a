"""BioLMConfig: the Hugging Face configuration of bioLM's decoder-only GPT.

A ``transformers.PreTrainedConfig`` subclass (a dataclass in transformers 5), saved as ``config.json`` by
``save_pretrained`` and found again by ``AutoConfig`` through ``model_type="biolm"`` once ``bioLM.model`` is
imported. GPT-2 style names (``n_layer``, ``n_head``, ``n_embd``, ``block_size``) are the stored fields; the
standard HF names (``num_hidden_layers``, ``num_attention_heads``, ``hidden_size``, ``max_position_embeddings``)
are aliases of them, so HF utilities (caches, generation) read them without a special case.
"""

from __future__ import annotations

from typing import ClassVar

from transformers import PreTrainedConfig

from bioLM.errors import ConfigError

VOCAB_MULTIPLE = 64
MLP_KINDS = ("swiglu", "gelu")
POOLINGS = ("last", "mean")


def round_up(value: int, multiple: int) -> int:
    """Smallest multiple of ``multiple`` that is >= ``value``."""
    return -(-value // multiple) * multiple


def default_intermediate_size(n_embd: int, mlp: str) -> int:
    """MLP hidden width: 4C for GELU; 2/3 of 4C rounded up to a multiple of 64 for SwiGLU (same FLOPs)."""
    if mlp == "gelu":
        return 4 * n_embd
    return round_up(int(8 * n_embd / 3), 64)


class BioLMConfig(PreTrainedConfig):
    """Shape and options of a bioLM GPT (pre-norm RMSNorm, RoPE, SDPA attention, SwiGLU or GELU MLP).

    ``vocab_size`` is rounded up to a multiple of 64 (faster matmuls); the tokenizer's real size is kept in
    ``tokenizer_vocab_size`` and the extra rows are never produced by the tokenizer.
    """

    model_type: ClassVar[str] = "biolm"
    keys_to_ignore_at_inference: ClassVar[list[str]] = ["past_key_values"]
    attribute_map: ClassVar[dict[str, str]] = {
        "hidden_size": "n_embd",
        "num_attention_heads": "n_head",
        "num_hidden_layers": "n_layer",
        "max_position_embeddings": "block_size",
    }

    vocab_size: int = 4096
    """Rows of the embedding and output matrices; rounded up to a multiple of 64 at construction."""
    tokenizer_vocab_size: int | None = None
    """Number of ids the tokenizer can produce (``len(tokenizer)``); defaults to ``vocab_size`` before rounding."""
    n_layer: int = 6
    """Number of transformer blocks."""
    n_head: int = 6
    """Attention heads per block; ``n_embd`` must be divisible by it and the head size must be even (RoPE)."""
    n_embd: int = 384
    """Width of the residual stream (C)."""
    block_size: int = 512
    """Context length the model is trained at (also ``max_position_embeddings``)."""
    mlp: str = "swiglu"
    """MLP kind: ``"swiglu"`` (gated SiLU, Llama-style) or ``"gelu"`` (GPT-2 style)."""
    intermediate_size: int | None = None
    """Hidden width of the MLP; default 4C for GELU, about 8C/3 (multiple of 64) for SwiGLU."""
    rope_theta: float = 10000.0
    """Base of the rotary position embedding frequencies."""
    rms_norm_eps: float = 1e-6
    """Epsilon of the RMSNorm layers."""
    dropout: float = 0.0
    """Dropout on attention probabilities, residual branches and embeddings (0 for pretraining)."""
    bias: bool = False
    """Whether linear layers have a bias."""
    tie_word_embeddings: bool = True
    """Share the token embedding matrix with the output (lm_head) matrix."""
    initializer_range: float = 0.02
    """Standard deviation of the normal weight init (residual projections are scaled by 1/sqrt(2 n_layer))."""
    use_cache: bool = True
    """Return a KV cache from forward in eval mode (used by ``generate()``)."""
    classifier_pooling: str = "last"
    """Pooling of BioLMForSequenceClassification: ``"last"`` non-pad token or ``"mean"`` over non-pad tokens."""
    pad_token_id: int | None = 0
    """Id of ``<pad>`` (bioLM tokenizers: 0)."""
    bos_token_id: int | None = 2
    """Id of ``<bos>`` (bioLM tokenizers: 2)."""
    eos_token_id: int | list[int] | None = 3
    """Id of ``<eos>``, the record separator (bioLM tokenizers: 3)."""

    def __post_init__(self, **kwargs) -> None:
        if self.tokenizer_vocab_size is None:
            self.tokenizer_vocab_size = self.vocab_size
        self.vocab_size = round_up(max(self.vocab_size, self.tokenizer_vocab_size), VOCAB_MULTIPLE)
        if self.intermediate_size is None:
            self.intermediate_size = default_intermediate_size(self.n_embd, self.mlp)
        super().__post_init__(**kwargs)
        self.check()

    def check(self) -> None:
        """Raise ConfigError when the shape is not buildable."""
        for name in ("n_layer", "n_head", "n_embd", "block_size", "vocab_size", "intermediate_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"BioLMConfig: {name}={value!r} must be a positive integer")
        if self.n_embd % self.n_head:
            raise ConfigError(f"BioLMConfig: n_embd={self.n_embd} is not divisible by n_head={self.n_head}; "
                              "choose n_embd as a multiple of n_head")
        if (self.n_embd // self.n_head) % 2:
            raise ConfigError(f"BioLMConfig: head size n_embd/n_head={self.n_embd // self.n_head} must be even "
                              "for rotary embeddings")
        if self.mlp not in MLP_KINDS:
            raise ConfigError(f"BioLMConfig: mlp={self.mlp!r} is not one of {list(MLP_KINDS)}")
        if self.classifier_pooling not in POOLINGS:
            raise ConfigError(f"BioLMConfig: classifier_pooling={self.classifier_pooling!r} is not one of "
                              f"{list(POOLINGS)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"BioLMConfig: dropout={self.dropout} must be in [0, 1)")

    @property
    def head_dim(self) -> int:
        """Size of one attention head, n_embd // n_head."""
        return self.n_embd // self.n_head
