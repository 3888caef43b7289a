"""The model as a lossless compressor: arithmetic coding of FASTA with a bioLM model, and bits per base.

* :func:`compress_fasta` / :func:`decompress`: FASTA <-> ``.blm`` container (format in
  :mod:`bioLM.compression.container`), byte-exact files (``cmp`` identical), pretrained or adaptive;
* :func:`file_bits`: theoretical bits per base (log-likelihood, no coding) next to classic compressors;
* :func:`classic_bits_per_base`: gzip -9, bzip2 -9, xz -9e and 2-bit on raw bases.
"""

from bioLM.compression.adaptive import AdaptiveConfig
from bioLM.compression.classic import classic_bits_per_base
from bioLM.compression.codec import CodecConfig, CodecReport, CodingModel, compress_fasta, decompress
from bioLM.compression.container import ContainerError, ModelMismatchError, model_identity

__all__ = [
    "AdaptiveConfig", "CodecConfig", "CodecReport", "CodingModel", "ContainerError", "ModelMismatchError", "classic_bits_per_base",
    "compress_fasta", "decompress", "file_bits", "model_identity",
]


def __getattr__(name: str):
    if name == "file_bits":  # imported lazily: bits pulls in the tokenizer package
        from bioLM.compression.bits import file_bits

        return file_bits
    raise AttributeError(name)
