"""The VCF path of ``score-variants`` under random bytes and random mutations of a valid VCF: a documented
error (:class:`~bioLM.errors.BioLMError`, nothing written) or a scored file with every record of the input,
never a crash."""

from __future__ import annotations

import pysam
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bioLM.errors import BioLMError
from bioLM.scoring.variants import score_variants

SETTINGS = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
REFERENCE = "ACGTTGCAAC" * 20  # 200 bp
VCF = (b"##fileformat=VCFv4.2\n##contig=<ID=c1,length=200>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
       b"c1\t5\tv1\tT\tG\t.\t.\t.\nc1\t50\tv2\tA\tC,T\t.\t.\t.\nc1\t120\tv3\tG\tA\t.\t.\t.\n")
HEADER_BYTES = VCF.index(b"#CHROM")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(model directory, indexed reference) of a tiny random bioLM model with a DNA char tokenizer."""
    import torch

    from bioLM.model import BioLMForCausalLM, config_from_preset
    from bioLM.tokenization import build_tokenizer

    folder = tmp_path_factory.mktemp("vcf_fuzz")
    tokenizer = build_tokenizer("char", alphabet="dna")
    torch.manual_seed(0)
    BioLMForCausalLM(config_from_preset("tiny", len(tokenizer), block_size=64, n_embd=32)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    reference = folder / "ref.fa"
    reference.write_text(">c1\n" + REFERENCE + "\n")
    pysam.faidx(str(reference))
    return folder, reference


def _score(tmp_path, data: bytes, setup) -> int | None:
    """Records scored from the VCF ``data``; None when refused with a bioLM error (and nothing written)."""
    model, reference = setup
    vcf, out = tmp_path / "in.vcf", tmp_path / "out.vcf"
    vcf.write_bytes(data)
    out.unlink(missing_ok=True)
    try:
        summary = score_variants(model, reference, vcf, out, window=32, progress=False)
    except BioLMError:
        assert not out.exists() and not list(tmp_path.glob("out.vcf*"))
        return None
    assert out.is_file()
    return summary.records


@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_bytes_are_refused_or_read(tmp_path, data, setup):
    _score(tmp_path, data, setup)  # a BioLMError or a result: any other exception fails the test


@SETTINGS
@given(edits=st.lists(st.tuples(st.sampled_from(["replace", "insert", "delete"]), st.floats(0, 1, exclude_max=True),
                                st.integers(0, 255)), min_size=1, max_size=3))
def test_mutated_vcf_is_refused_or_scored_whole(tmp_path, edits, setup):
    data = VCF
    for op, where, byte in edits:
        i = HEADER_BYTES + int(where * (len(data) - HEADER_BYTES))  # the column line and the records
        data = data[:i] + (b"" if op == "delete" else bytes([byte])) + data[i + (op != "insert"):]
    records = _score(tmp_path, data, setup)
    if records is not None:  # accepted: every record pysam reads was counted, none dropped
        with pysam.VariantFile(str(tmp_path / "in.vcf")) as handle:
            assert records == sum(1 for _ in handle)
