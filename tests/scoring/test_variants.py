from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pysam
import pytest

from bioLM.alphabet import reverse_complement
from bioLM.errors import ContigNotFoundError, InputFormatError
from bioLM.io.vcf import skip_reason, window_interval, window_pair
from bioLM.model.loading import load as load_model
from bioLM.scoring.likelihood import log_likelihoods
from bioLM.scoring.variants import score_variants
from bioLM.synthetic import random_dna, write_fasta_records

REPEAT = "ACGTTGCAAGGC"  # the period the repeat model was trained on (conftest.REPEAT)

WINDOW = 48
HEADER = "##fileformat=VCFv4.2\n{contigs}#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    return write_fasta_records(tmp_path / "ref.fa", [("chr1", REPEAT * 20), ("chr2", random_dna(300, rng))])


def write_vcf(path: Path, rows: list[str], contigs=(("chr1", 240), ("chr2", 300))) -> Path:
    declared = "".join(f"##contig=<ID={name},length={length}>\n" for name, length in contigs)
    path.write_text(HEADER.format(contigs=declared) + "".join("\t".join(r.split()) + "\n" for r in rows))
    return path


def base(pos: int) -> str:  # 1-based position in chr1
    return (REPEAT * 20)[pos - 1]


def other(b: str) -> str:
    return {"A": "C", "C": "G", "G": "T", "T": "A"}[b]


def test_repeat_unit_is_the_trained_one(repeat_unit):
    assert repeat_unit == REPEAT


def test_window_and_haplotypes():
    assert window_interval(100, 1, 10, 1000) == (96, 106)
    assert window_interval(2, 1, 10, 1000) == (0, 10)  # shifted inward, same size
    assert window_interval(998, 1, 10, 1000) == (990, 1000)
    assert window_interval(50, 30, 10, 1000) == (50, 80)  # never narrower than REF
    pair = window_pair("AACCGGTT", 10, 12, "CC", "C")  # deletion of one C (anchor base kept)
    assert (pair.ref, pair.alt, pair.start, pair.end) == ("AACCGGTT", "AACGGTT", 10, 18)
    assert window_pair("AACCGGTT", 10, 12, "C", "CTTT").alt == "AACTTTCGGTT"
    assert [skip_reason(a) for a in ("<DEL>", "*", "A]1:5]", ".", "ACGT", "AXG")] == \
        ["symbolic", "symbolic", "symbolic", "symbolic", None, "invalid_allele"]


def test_scores_known_differences(tmp_path, reference, repeat_model_dir):
    snv, ins, dele = 121, 61, 181
    rows = [f"chr1 {ins} . {base(ins)} {base(ins)}A,<DEL> . . DP=3",
            f"chr1 {snv} rs1 {base(snv)} {other(base(snv))} . PASS .",
            f"chr1 {dele} . {(REPEAT * 20)[dele - 1:dele + 12]} {base(dele)},* . . .",
            "chr2 150 . " + pysam.FastaFile(str(reference)).fetch("chr2", 149, 150) + " G,T . . .",
            "chr2 160 . " + pysam.FastaFile(str(reference)).fetch("chr2", 159, 160) + " . . . ."]
    vcf = write_vcf(tmp_path / "in.vcf", rows)
    summary = score_variants(repeat_model_dir, reference, vcf, tmp_path / "out.vcf.gz", window=WINDOW,
                             tsv=tmp_path / "out.tsv", progress=False, device="cpu", precision="fp32")
    assert (summary.records, summary.alleles, summary.skipped) == (5, 8, {"symbolic": 2, "no_alt": 1})
    assert summary.scored == 5 and summary.indexed
    assert Path(str(tmp_path / "out.vcf.gz") + ".tbi").is_file()
    with pysam.VariantFile(str(tmp_path / "out.vcf.gz")) as handle:
        assert "BIOLM_LLR" in handle.header.info and handle.header.info["BIOLM_LLR"].number == "A"
        records = list(handle)
        assert [r.pos for r in records] == [ins, snv, dele, 150, 160]
        assert "BIOLM_LLR" not in records[-1].info  # ALT '.': nothing to score, record kept
        assert len(list(handle.fetch("chr1", 100, 130))) == 1  # the tabix index works
    ins_rec, snv_rec, del_rec = records[:3]
    assert snv_rec.info["BIOLM_LLR"][0] < -3  # breaking the repeat costs nats on both strands
    assert snv_rec.info["BIOLM_LLR_FWD"][0] < -3 and snv_rec.info["BIOLM_LLR_REV"][0] < -3
    assert ins_rec.info["BIOLM_LLR"][0] < -3 and ins_rec.info["BIOLM_LLR"][1] is None
    assert ins_rec.info["BIOLM_SKIP"] == (".", "symbolic") and str(ins_rec.info["DP"]) == "3"
    assert del_rec.info["BIOLM_LLR"][0] > -1  # deleting one whole period keeps the repeat
    assert snv_rec.id == "rs1" and list(snv_rec.filter) == ["PASS"]
    # forward LLR equals log-likelihoods computed directly on the two windows
    model, tokenizer = load_model(repeat_model_dir, device="cpu", precision="fp32")
    ws, we = window_interval(snv - 1, 1, WINDOW, 240)
    ref_window = (REPEAT * 20)[ws:we]
    alt_window = ref_window[:snv - 1 - ws] + other(base(snv)) + ref_window[snv - ws:]
    sums, _ = log_likelihoods(model, tokenizer, [ref_window, alt_window,
                                                 reverse_complement(ref_window), reverse_complement(alt_window)])
    assert snv_rec.info["BIOLM_LLR_FWD"][0] == pytest.approx(sums[1] - sums[0], abs=1e-3)
    assert snv_rec.info["BIOLM_LLR_REV"][0] == pytest.approx(sums[3] - sums[2], abs=1e-3)
    assert snv_rec.info["BIOLM_LLR"][0] == pytest.approx((sums[1] - sums[0] + sums[3] - sums[2]) / 2, abs=1e-3)
    table = (tmp_path / "out.tsv").read_text().splitlines()
    assert table[0].split("\t")[:6] == ["chrom", "pos", "id", "ref", "alt", "llr"]
    assert len(table) == 1 + 8 and table[2].split("\t")[-1] == "symbolic"
    assert table[3].split("\t")[:2] == ["chr1", str(snv)] and float(table[3].split("\t")[5]) < -3


def test_single_strand_plain_output_unsorted_input(tmp_path, reference, repeat_model_dir):
    rows = [f"chr1 {p} . {base(p)} {other(base(p))} . . ." for p in (121, 60)]
    vcf = write_vcf(tmp_path / "in.vcf", rows)
    summary = score_variants(repeat_model_dir, reference, vcf, tmp_path / "out.vcf.gz", window=WINDOW,
                             strands="+", progress=False, device="cpu", precision="fp32")
    assert not summary.indexed  # unsorted input: output kept in input order, not indexed (warning logged)
    score_variants(repeat_model_dir, reference, vcf, tmp_path / "out.vcf", window=WINDOW, strands="+",
                   progress=False, device="cpu", precision="fp32")
    with pysam.VariantFile(str(tmp_path / "out.vcf")) as handle:
        records = list(handle)
        assert [r.pos for r in records] == [121, 60] and "BIOLM_LLR_REV" not in handle.header.info
        assert all(r.info["BIOLM_LLR"][0] < -3 for r in records)


def test_ref_mismatch_error_and_skip(tmp_path, reference, random_dna_dir):
    rows = [f"chr1 {p} . {other(base(p))} {base(p)} . . ." for p in (5, 17)] + [f"chr1 30 . {base(30)} <DEL> . . ."]
    rows.insert(1, f"chr1 10 . {base(10)} {other(base(10))} . . .")
    vcf = write_vcf(tmp_path / "in.vcf", rows)
    with pytest.raises(InputFormatError, match=r"2 record\(s\).*line 5: chr1:5 REF=.*line 7: chr1:17"):
        score_variants(random_dna_dir, reference, vcf, tmp_path / "out.vcf.gz", window=WINDOW, device="cpu", precision="fp32")
    assert not (tmp_path / "out.vcf.gz").exists()
    summary = score_variants(random_dna_dir, reference, vcf, tmp_path / "out.vcf.gz", window=WINDOW,
                             skip_ref_mismatch=True, progress=False, device="cpu", precision="fp32")
    assert summary.skipped == {"ref_mismatch": 2, "symbolic": 1} and summary.scored == 1
    assert summary.ref_mismatch_records == 2
    with pysam.VariantFile(str(tmp_path / "out.vcf.gz")) as handle:
        filters = [list(r.filter) for r in handle]
    assert filters == [["BIOLM_REF_MISMATCH"], [], ["BIOLM_REF_MISMATCH"], []]


def test_contig_names_chr_prefix(tmp_path, reference, random_dna_dir):
    vcf = write_vcf(tmp_path / "in.vcf", [f"1 121 . {base(121)} {other(base(121))} . . ."],
                    contigs=(("1", 240),))
    with pytest.raises(ContigNotFoundError, match=r"'1' \(line 4\).*'chr' prefix \(1 -> chr1\).*--contig-map"):
        score_variants(random_dna_dir, reference, vcf, tmp_path / "out.vcf.gz", device="cpu", precision="fp32")
    mapping = tmp_path / "map.tsv"
    mapping.write_text("# vcf reference\n1\tchr1\n")
    summary = score_variants(random_dna_dir, reference, vcf, tmp_path / "out.vcf.gz", window=WINDOW,
                             contig_map=mapping, progress=False, device="cpu", precision="fp32")
    assert summary.scored == 1


def test_vcf_without_reference_contigs(tmp_path, reference, random_dna_dir):
    vcf = write_vcf(tmp_path / "in.vcf", ["chrX 5 . A G . . .", "chrY 9 . A G . . ."], contigs=())
    with pytest.raises(ContigNotFoundError, match=r"2 contig\(s\).*'chrX' \(line 3\), 'chrY' \(line 4\)"):
        score_variants(random_dna_dir, reference, vcf, tmp_path / "out.vcf.gz", device="cpu", precision="fp32")


def test_empty_vcf_gives_empty_output(tmp_path, reference, random_dna_dir):
    vcf = write_vcf(tmp_path / "in.vcf", [])
    summary = score_variants(random_dna_dir, reference, vcf, tmp_path / "out.vcf.gz", tsv=tmp_path / "o.tsv",
                             progress=False, device="cpu", precision="fp32")
    assert (summary.records, summary.alleles, summary.scored) == (0, 0, 0)
    with pysam.VariantFile(str(tmp_path / "out.vcf.gz")) as handle:
        assert list(handle) == [] and "BIOLM_LLR" in handle.header.info
    assert (tmp_path / "o.tsv").read_text().count("\n") == 1


def test_gzip_not_bgzip_and_bgzip_input(tmp_path, reference, random_dna_dir):
    plain = write_vcf(tmp_path / "in.vcf", [f"chr1 121 . {base(121)} {other(base(121))} . . ."])
    gz = tmp_path / "in.vcf.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    with pytest.raises(InputFormatError, match="not bgzip-compressed.*bgzip"):
        score_variants(random_dna_dir, reference, gz, tmp_path / "out.vcf.gz", device="cpu", precision="fp32")
    pysam.tabix_compress(str(plain), str(tmp_path / "b.vcf.gz"))
    summary = score_variants(random_dna_dir, reference, tmp_path / "b.vcf.gz", tmp_path / "out.vcf.gz",
                             window=WINDOW, progress=False, device="cpu", precision="fp32")
    assert summary.scored == 1


def test_cli_score_variants(tmp_path, reference, random_dna_dir, capsys):
    from bioLM.cli import main

    rows = [f"chr1 {p} . {base(p)} {other(base(p))},<DEL> . . ." for p in (40, 90)]
    vcf = write_vcf(tmp_path / "in.vcf", rows)
    code = main(["score-variants", "--model", str(random_dna_dir), "--reference", str(reference), "--vcf",
                 str(vcf), "--out", str(tmp_path / "o.vcf.gz"), "--tsv", str(tmp_path / "o.tsv"),
                 "--window", str(WINDOW), "--device", "cpu"])
    printed = capsys.readouterr().out
    assert code == 0 and "2 records, 4 ALT alleles: 2 scored, skipped: symbolic=2" in printed
    bad = write_vcf(tmp_path / "bad.vcf", ["1 40 . A G . . ."], contigs=())
    code = main(["score-variants", "--model", str(random_dna_dir), "--reference", str(reference), "--vcf",
                 str(bad), "--out", str(tmp_path / "b.vcf.gz")])
    err = capsys.readouterr().err
    assert code == 2 and "--contig-map" in err and "Traceback" not in err


def test_windows_longer_than_context_are_counted_skips(tmp_path, reference, random_dna_dir):
    vcf = write_vcf(tmp_path / "in.vcf", [f"chr1 100 . {base(100)} {other(base(100))} . . .",
                                          f"chr2 50 . {pysam.FastaFile(str(reference)).fetch('chr2', 49, 50)} T . . ."])
    with pytest.raises(InputFormatError, match=r"no variant was scored.*too_long=2"):  # issue 16: 0 scored
        score_variants(random_dna_dir, reference, vcf, tmp_path / "o.vcf.gz", window=200, progress=False,
                       device="cpu", precision="fp32")
    assert not (tmp_path / "o.vcf.gz").exists()
    summary = score_variants(random_dna_dir, reference, vcf, tmp_path / "o.vcf.gz", progress=False, device="cpu",
                             precision="fp32")
    assert summary.scored == 2  # default window: min(256, context 128 - 17) = 111 bases
    with pysam.VariantFile(str(tmp_path / "o.vcf.gz")) as handle:
        assert "111 bp window" in handle.header.info["BIOLM_LLR"].description


def test_non_overlapping_kmer_model(tmp_path, reference):
    tokenization = pytest.importorskip("bioLM.tokenization")
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = tokenization.build_tokenizer("kmer", alphabet="dna", k=3)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=16, n_layer=1, n_head=2))
    model.save_pretrained(tmp_path / "kmer")
    tokenizer.save_pretrained(tmp_path / "kmer")
    vcf = write_vcf(tmp_path / "in.vcf", [f"chr1 100 . {base(100)} {other(base(100))},{base(100)}TT . . ."])
    summary = score_variants(tmp_path / "kmer", reference, vcf, tmp_path / "o.vcf.gz", window=90, progress=False,
                             device="cpu", precision="fp32")
    assert summary.scored == 2  # 90 bases = 30 tokens: k-mer windows fit where 90 char tokens would not
    with pysam.VariantFile(str(tmp_path / "o.vcf.gz")) as handle:
        assert all(np.isfinite(v) for v in next(iter(handle)).info["BIOLM_LLR"])
