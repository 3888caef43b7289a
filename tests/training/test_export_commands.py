"""Every bioLM command that reads a model directory works on an export (a standard Llama + biolm.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bioLM.cli import main
from bioLM.model import config_from_preset
from bioLM.model.modeling import BioLMForCausalLM
from bioLM.synthetic import random_dna, write_fasta_records
from bioLM.tokenization import build_tokenizer
from bioLM.training.export import export_model

WT = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKDLGAVFLVGIGGKLSDGHRHDVRAPDYDDWUAGFSTGASENKI"[:60]


def export_random(alphabet: str, out: Path, context: int = 128) -> Path:
    tokenizer = build_tokenizer("char", alphabet=alphabet)
    torch.manual_seed(0)
    config = config_from_preset("tiny", len(tokenizer), n_layer=2, n_head=2, n_embd=32, block_size=context)
    return export_model(BioLMForCausalLM(config), tokenizer, out)


@pytest.fixture(scope="module")
def dna_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_random("dna", tmp_path_factory.mktemp("dna") / "model")


@pytest.fixture(scope="module")
def fasta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    return write_fasta_records(tmp_path_factory.mktemp("fa") / "in.fa",
                               [("a", random_dna(300, rng)), ("b", random_dna(90, rng))])


def test_bits_embed_generate_compress_on_an_export(dna_export: Path, fasta: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    model = str(dna_export)
    assert main(["bits", "--model", model, str(fasta)]) == 0
    assert "model_bits_per_base" in capsys.readouterr().out
    assert main(["embed", "--model", model, str(fasta), "--out", str(tmp_path / "e.npz"), "--format", "npz",
                 "--window-overlap", "8"]) == 0
    assert np.load(tmp_path / "e.npz", allow_pickle=False)["layer_-1"].shape == (2, 32)
    assert main(["generate", "--model", model, "--n", "2", "--max-length", "12", "--out",
                 str(tmp_path / "g.fa")]) == 0
    assert (tmp_path / "g.fa").read_text().count(">") == 2
    assert main(["compress", "--model", model, str(fasta), str(tmp_path / "x.blm")]) == 0
    assert main(["decompress", "--model", model, str(tmp_path / "x.blm"), str(tmp_path / "back.fa")]) == 0
    assert (tmp_path / "back.fa").read_bytes() == fasta.read_bytes()


def test_score_variants_and_finetune_on_an_export(dna_export: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(5)
    chrom = random_dna(240, rng)
    reference = write_fasta_records(tmp_path / "ref.fa", [("chr1", chrom)])
    alt = {"A": "C", "C": "G", "G": "T", "T": "A"}[chrom[99]]
    (tmp_path / "v.vcf").write_text("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=240>\n"
                                    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                                    f"chr1\t100\t.\t{chrom[99]}\t{alt}\t.\t.\t.\n")
    assert main(["score-variants", "--model", str(dna_export), "--reference", str(reference), "--vcf",
                 str(tmp_path / "v.vcf"), "--out", str(tmp_path / "o.vcf.gz"), "--window", "48",
                 "--device", "cpu"]) == 0
    assert "1 scored" in capsys.readouterr().out
    folder = tmp_path / "task"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        rows = "".join(f"{random_dna(24, rng, gc=0.2 + 0.6 * (i % 2))},{i % 2}\n" for i in range(8))
        (folder / f"{split}.csv").write_text("sequence,label\n" + rows)
    assert main(["finetune", "--model", str(dna_export), "--task", str(folder), "--out", str(tmp_path / "ft"),
                 "--max-epochs", "1", "--device", "cpu"]) == 0
    assert json.loads((tmp_path / "ft" / "config.json").read_text())["model_type"] == "llama"
    card = (tmp_path / "ft" / "README.md").read_text()
    assert "AutoModelForSequenceClassification.from_pretrained(PATH)" in card and "Labels: ['0', '1']" in card
    assert main(["finetune", "--model", str(dna_export), "--task", str(folder), "--out", str(tmp_path / "mean"),
                 "--max-epochs", "1", "--device", "cpu", "--pooling", "mean"]) == 0
    config = json.loads((tmp_path / "mean" / "config.json").read_text())  # Llama has no mean pooling
    assert config["model_type"] == "biolm" and config["classifier_pooling"] == "mean"


def test_score_mutations_on_a_protein_export(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = export_random("protein", tmp_path / "protein", context=128)
    (tmp_path / "m.csv").write_text(f"mutant,score\n{WT[4]}5A,1.0\n{WT[9]}10W,0.5\n{WT[2]}3G,0.1\n")
    assert main(["score-mutations", "--model", str(model), "--sequence", WT, "--mutations",
                 str(tmp_path / "m.csv"), "--device", "cpu"]) == 0
    assert "scored 3 rows" in capsys.readouterr().out
    scored = (tmp_path / "m.scored.csv").read_text().splitlines()
    assert len(scored) == 4 and "biolm_score" in scored[0]
