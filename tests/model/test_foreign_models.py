"""Models bioLM did not train (GPT-2, Llama, ESM-2 style), through the one loader and every command's CLI.

Golden checks: a causal mutation score equals a direct sum of log-probabilities; a masked-marginal score equals
log-softmax of the model's logits at the masked position; a masked-LLR variant score likewise.
"""

from __future__ import annotations

import csv
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest
import torch

from bioLM.cli import main
from bioLM.errors import ModelDirectoryError
from bioLM.model.loading import load
from bioLM.synthetic import random_dna, write_fasta_records

sys.path.insert(0, str(Path(__file__).parent))
import foreign  # noqa: E402

WT = "MKTAYIAKQRQISFVKSHFSRQ"


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("foreign")
    return {name: getattr(foreign, name)(root / name) for name in ("gpt2_char", "llama_kmer", "esm_protein",
                                                                     "esm_dna")}


@pytest.fixture(scope="module")
def genome(tmp_path_factory) -> tuple[Path, str]:
    chrom = random_dna(300, np.random.default_rng(5))
    path = write_fasta_records(tmp_path_factory.mktemp("ref") / "ref.fa", [("chr1", chrom)])
    pysam.faidx(str(path))
    return path, chrom


def _vcf(path: Path, rows: list[str]) -> Path:
    path.write_text("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=300>\n"
                    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "".join(r + "\n" for r in rows))
    return path


def _snvs(chrom: str, positions: tuple[int, ...]) -> list[str]:
    return [f"chr1\t{p}\tv{p}\t{chrom[p - 1]}\t{'A' if chrom[p - 1] != 'A' else 'C'}\t.\t.\t." for p in positions]


def _mutations(path: Path, rows: list[str]) -> Path:
    path.write_text("mutant\n" + "".join(r + "\n" for r in rows))
    return path


def _scores(path: Path) -> tuple[list[float], set[str]]:
    rows = list(csv.DictReader(path.open()))
    return [float(r["biolm_score"]) for r in rows], {r["biolm_score_rule"] for r in rows}


def test_loader_knows_kind_context_and_special_tokens(models):
    gpt2 = load(models["gpt2_char"], device="cpu", precision="fp32")
    assert (gpt2.kind, gpt2.context, gpt2.prefix, gpt2.suffix) == ("causal", 64, (gpt2.tokenizer.bos_token_id,), ())
    esm = load(models["esm_protein"], precision="fp32")
    assert esm.kind == "masked" and esm.prefix == (0,) and esm.suffix == (2,) and esm.mask_id == 32
    model, tokenizer = esm  # a LoadedModel unpacks to (model, tokenizer)
    assert model is esm.model and esm.device == torch.device("cpu") and esm.precision == "fp32"


@pytest.mark.parametrize("name", ["gpt2_char", "llama_kmer"])
def test_every_command_runs_on_a_foreign_causal_lm(name, models, genome, tmp_path, capsys):
    model, (reference, chrom) = str(models[name]), genome
    fasta = write_fasta_records(tmp_path / "s.fa", [("a", chrom[:40]), ("b", chrom[50:75])])
    assert main(["embed", "--model", model, str(fasta), "--out", str(tmp_path / "e.npz"), "--device", "cpu"]) == 0
    assert np.load(tmp_path / "e.npz")["layer_-1"].shape == (2, 32)
    assert main(["bits", "--model", model, "--json", "--precision", "fp32", str(fasta)]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["files"][0]
    assert row["bases"] == 65 and 1.0 < row["bits_per_base"] < 4.0  # random weights: about 2 bits per base
    vcf = _vcf(tmp_path / "v.vcf", _snvs(chrom, (100, 150)))
    assert main(["score-variants", "--model", model, "--reference", str(reference), "--vcf", str(vcf),
                 "--out", str(tmp_path / "o.vcf"), "--precision", "fp32", "--tsv", str(tmp_path / "o.tsv")]) == 0
    assert "2 scored" in capsys.readouterr().out
    with pysam.VariantFile(str(tmp_path / "o.vcf")) as handle:
        assert "scoring=log-likelihood-ratio" in str(handle.header)
    wild_type = chrom[:30]  # A/C/G/T are amino-acid letters too: the DNA model scores them
    mutations = _mutations(tmp_path / "m.csv", [f"{wild_type[0]}1{'G' if wild_type[0] != 'G' else 'C'}", "WT"])
    assert main(["score-mutations", "--model", model, "--sequence", wild_type, "--mutations", str(mutations),
                 "--precision", "fp32"]) == 0
    assert _scores(tmp_path / "m.scored.csv")[1] == {"log-likelihood-ratio"}
    assert main(["generate", "--model", model, "--n", "2", "--max-length", "6", "--out", str(tmp_path / "g.fa")]) == 0
    assert (tmp_path / "g.fa").read_text().count(">") == 2
    packed = tmp_path / "s.blm"  # compress / decompress: byte-exact through the generic Hugging Face cache path
    assert main(["compress", "--model", model, str(fasta), str(packed), "--lanes", "2", "--min-lane-tokens", "8"]) == 0
    assert main(["decompress", "--model", model, str(packed), str(tmp_path / "back.fa")]) == 0
    assert (tmp_path / "back.fa").read_bytes() == fasta.read_bytes()


@pytest.mark.parametrize("name", ["gpt2_char", "llama_kmer"])
def test_causal_mutation_score_is_a_direct_sum_of_log_probs(name, models, tmp_path):
    from bioLM.scoring.mutations import score_mutations

    loaded = load(models[name], device="cpu", precision="fp32")
    wild_type = "ACGTTGCAAGGCATTACGGA"
    mutants = ["C2G", "A1T:G3A", "WT"]
    result = score_mutations(models[name], wild_type, _mutations(tmp_path / "m.csv", mutants), None,
                             precision="fp32", device="cpu", progress=False)

    def direct(sequence: str) -> float:
        ids = [loaded.tokenizer.bos_token_id] + loaded.tokenizer(sequence, add_special_tokens=False)["input_ids"]
        x = torch.tensor([ids])
        with torch.no_grad():
            logp = torch.log_softmax(loaded.model(input_ids=x).logits[0, :-1].float(), -1)
        return float(logp.gather(-1, x[0, 1:, None]).sum())

    sequences = ["AGGTTGCAAGGCATTACGGA", "TCATTGCAAGGCATTACGGA", wild_type]
    expected = [direct(s) - direct(wild_type) for s in sequences]
    np.testing.assert_allclose(result.scores, expected, atol=1e-4)
    assert result.scoring == "log-likelihood-ratio" and result.scores[2] == 0.0


def _masked_logp(loaded, ids: list[int], position: int) -> torch.Tensor:
    """log-softmax (V,) at ``position`` of ``ids`` (special tokens included) with that position masked."""
    x = torch.tensor([ids])
    x[0, position] = loaded.mask_id
    with torch.no_grad():
        return torch.log_softmax(loaded.model(input_ids=x).logits[0, position].float(), -1)


def test_masked_marginal_equals_the_logits_at_the_masked_position(models, tmp_path, capsys):
    loaded = load(models["esm_protein"], device="cpu", precision="fp32")
    vocab = loaded.tokenizer.get_vocab()
    ids = loaded.tokenizer(WT)["input_ids"]  # <cls> WT <eos>
    assert ids[0] == vocab["<cls>"] and ids[-1] == vocab["<eos>"]
    mutations = _mutations(tmp_path / "m.csv", ["K2A", "M1V:T3W", "WT"])
    assert main(["score-mutations", "--model", str(models["esm_protein"]), "--sequence", WT, "--mutations",
                 str(mutations), "--precision", "fp32", "--device", "cpu"]) == 0
    assert "masked-marginal" in capsys.readouterr().out
    scores, rules = _scores(tmp_path / "m.scored.csv")
    k2a = _masked_logp(loaded, ids, 2)
    m1v, t3w = _masked_logp(loaded, ids, 1), _masked_logp(loaded, ids, 3)
    expected = [float(k2a[vocab["A"]] - k2a[vocab["K"]]),
                float(m1v[vocab["V"]] - m1v[vocab["M"]] + t3w[vocab["W"]] - t3w[vocab["T"]]), 0.0]
    np.testing.assert_allclose(scores, expected, atol=1e-4)
    assert rules == {"masked-marginal"}
    assert main(["score-mutations", "--model", str(models["esm_protein"]), "--sequence", WT, "--mutations",
                 str(mutations), "--precision", "fp32", "--scoring", "wildtype-marginal"]) == 0
    scores, rules = _scores(tmp_path / "m.scored.csv")
    with torch.no_grad():
        logp = torch.log_softmax(loaded.model(input_ids=torch.tensor([ids])).logits[0].float(), -1)
    assert rules == {"wildtype-marginal"}
    assert scores[0] == pytest.approx(float(logp[2, vocab["A"]] - logp[2, vocab["K"]]), abs=1e-4)


def test_masked_llr_and_pseudo_log_likelihood_of_variants(models, genome, tmp_path):
    from bioLM.io.vcf import window_interval
    from bioLM.scoring.variants import score_variants

    reference, chrom = genome
    loaded = load(models["esm_dna"], device="cpu", precision="fp32")
    rows = _snvs(chrom, (120,)) + [f"chr1\t200\t.\t{chrom[199]}\t{chrom[199]}GT\t.\t.\t."]  # SNV, insertion
    vcf = _vcf(tmp_path / "v.vcf", rows)
    summary = score_variants(models["esm_dna"], reference, vcf, tmp_path / "o.vcf", window=21, strands="+",
                             tsv=tmp_path / "o.tsv", precision="fp32", device="cpu", progress=False)
    assert summary.rule == "masked-llr" and summary.scored == 1 and summary.skipped == {"not_single_token": 1}
    ws, we = window_interval(119, 1, 21, 300)
    ids = loaded.tokenizer(chrom[ws:we])["input_ids"]
    logp = _masked_logp(loaded, ids, 119 - ws + 1)
    vocab = loaded.tokenizer.get_vocab()
    alt = "A" if chrom[119] != "A" else "C"
    with pysam.VariantFile(str(tmp_path / "o.vcf")) as handle:
        snv = next(iter(handle))
        assert "scoring=masked-llr" in str(handle.header)
    assert snv.info["BIOLM_LLR"][0] == pytest.approx(float(logp[vocab[alt]] - logp[vocab[chrom[119]]]), abs=1e-3)
    assert (tmp_path / "o.tsv").read_text().splitlines()[1].split("\t")[8] == "masked-llr"
    summary = score_variants(models["esm_dna"], reference, vcf, tmp_path / "p.vcf", window=21, strands="+",
                             scoring="pseudo-log-likelihood", precision="fp32", device="cpu", progress=False)
    assert summary.scored == 2  # PLL scores the insertion too
    with pysam.VariantFile(str(tmp_path / "p.vcf")) as handle:
        snv = next(iter(handle))
    window = chrom[ws:we]
    mutated = window[:119 - ws] + alt + window[120 - ws:]

    def pll(sequence: str) -> float:
        tokens = loaded.tokenizer(sequence)["input_ids"]
        return sum(float(_masked_logp(loaded, tokens, i)[tokens[i]]) for i in range(1, len(tokens) - 1))

    assert snv.info["BIOLM_LLR"][0] == pytest.approx(pll(mutated) - pll(window), abs=1e-3)


def test_masked_embeddings_leave_out_cls_and_eos(models):
    from bioLM.embedding import embed

    loaded = load(models["esm_protein"], device="cpu", precision="fp32")
    result = embed([WT, WT[:7]], loaded.model, loaded.tokenizer, layers=[-1], pooling="mean", precision="fp32")
    first = embed([WT], loaded.model, loaded.tokenizer, layers=[-1], pooling="first", precision="fp32")[-1]
    with torch.no_grad():
        states = loaded.model.base_model(input_ids=torch.tensor([loaded.tokenizer(WT)["input_ids"]]),
                                         output_hidden_states=True).hidden_states[-1][0]
    np.testing.assert_allclose(result[-1][0], states[1:-1].mean(0).numpy(), atol=1e-5)  # residues only
    np.testing.assert_allclose(first[0], states[0].numpy(), atol=1e-5)  # 'first' is <cls>
    per_base = embed([WT], loaded.model, loaded.tokenizer, pooling="per-base", precision="fp32")[-1][0]
    assert per_base.shape == (len(WT), 32)


def test_masked_lm_commands_that_cannot_apply_say_why(models, tmp_path, capsys):
    fasta = write_fasta_records(tmp_path / "s.fa", [("a", "ACGTACGT")])
    model = str(models["esm_dna"])
    assert main(["generate", "--model", model, "--n", "1", "--max-length", "3"]) == 2
    assert "generate needs a causal language model" in capsys.readouterr().err
    assert main(["bits", "--model", model, str(fasta)]) == 2
    err = capsys.readouterr().err
    assert "bits needs a causal language model" in err and "Traceback" not in err
    assert main(["compress", "--model", model, str(fasta), str(tmp_path / "x.blm")]) == 2
    err = capsys.readouterr().err
    assert "compress needs a causal language model" in err and not (tmp_path / "x.blm").exists()
    assert main(["score-mutations", "--model", str(models["esm_protein"]), "--sequence", WT, "--mutations",
                 str(_mutations(tmp_path / "m.csv", ["K2A"])), "--scoring", "log-likelihood-ratio"]) == 2
    assert "does not apply to a masked LM" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["esm_protein", "gpt2_char"])
def test_finetune_a_foreign_model(name, models, tmp_path, rng):
    from bioLM.finetuning.finetune import finetune
    from bioLM.finetuning.tasks import Task, TaskSplit

    letters = "ACGT" if name == "gpt2_char" else "LAGVSE"

    def split(n: int) -> TaskSplit:
        labels = rng.integers(0, 2, size=n)
        sequences = ["".join(rng.choice(list(letters), size=12)) for _ in range(n)]
        return TaskSplit(sequences, labels)

    task = Task("toy", "classification", {"train": split(16), "validation": split(8), "test": split(8)}, ["a", "b"])
    result = finetune(models[name], task, tmp_path / "ft", max_epochs=1, batch_size=8, progress=False,
                      device="cpu", precision="fp32")
    assert (tmp_path / "ft" / "config.json").is_file() and result.logits["test"].shape == (8, 2)


def test_remote_code_and_pickled_weights_are_refused(models, tmp_path):
    import shutil

    custom = tmp_path / "custom"
    shutil.copytree(models["gpt2_char"], custom)
    config = json.loads((custom / "config.json").read_text())
    config.update(model_type="my_secret_arch", auto_map={"AutoModelForCausalLM": "modeling_x.MyModel"})
    (custom / "config.json").write_text(json.dumps(config))
    (custom / "modeling_x.py").write_text("raise SystemExit('custom code ran')\n")
    with pytest.raises(ModelDirectoryError, match="needs Python code shipped in the model directory"):
        load(custom)
    pickled = tmp_path / "pickled"
    shutil.copytree(models["gpt2_char"], pickled)
    (pickled / "model.safetensors").unlink()

    class Payload:
        def __reduce__(self):
            return (print, ("unpickled code ran",))

    (pickled / "pytorch_model.bin").write_bytes(pickle.dumps({"transformer.wte.weight": Payload()}))
    with pytest.raises(ModelDirectoryError, match="pickle"):
        load(pickled)


@pytest.mark.parametrize("name", ["esm_dna", "gpt2_char"])
def test_benchmark_model_flag_takes_a_foreign_model(name, models, tmp_path):
    from bioLM.synthetic import planted_motif_dataset

    rng = np.random.default_rng(0)
    task = tmp_path / "data" / "tasks" / "motif"
    task.mkdir(parents=True)
    sequences, labels, _ = planted_motif_dataset(60, 40, "TATAATGC", rng)
    for label, cls in ((0, "absent"), (1, "present")):
        write_fasta_records(task / f"{cls}.fa", [(f"{cls}{i}", s) for i, (s, y) in
                                                 enumerate(zip(sequences, labels)) if y == label])
    write_fasta_records(tmp_path / "data" / "genome.fa", [("g", random_dna(300, rng))])
    tasks = [{"name": "motif", "path": "tasks/motif", "format": "fasta"}]
    if name == "gpt2_char":
        tasks.append({"name": "bits", "type": "compression", "files": ["genome.fa"]})
    suite = {"name": "foreign", "model": {"path": "placeholder"}, "tasks": tasks, "evaluators": ["embedding-lr"],
             "baselines": ["kmer-4"], "seeds": [0], "bootstrap": 20, "threads": 1}
    (tmp_path / "suite.yaml").write_text(json.dumps(suite))  # JSON is YAML
    assert main(["benchmark", str(tmp_path / "suite.yaml"), "--data-dir", str(tmp_path / "data"), "--out",
                 str(tmp_path / "out"), "--model", str(models[name]), "--device", "cpu",
                 "--precision", "fp32"]) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [r["method"] for r in results["tasks"][0]["rows"]] == ["embedding-lr", "kmer-4"]
    if name == "gpt2_char":
        assert 1.0 < results["tasks"][1]["files"][0]["model"]["value"] < 4.0


def test_embed_vcf_with_a_masked_dna_model(models, genome, tmp_path):
    reference, chrom = genome
    vcf = _vcf(tmp_path / "v.vcf", _snvs(chrom, (20, 290)))  # near both contig ends: windows shifted inward
    assert main(["embed", "--model", str(models["esm_dna"]), "--reference", str(reference), "--vcf", str(vcf),
                 "--variant-window", "31", "--out", str(tmp_path / "v.npz"), "--precision", "fp32"]) == 0
    saved = np.load(tmp_path / "v.npz", allow_pickle=True)
    assert saved["layer_-1_ref"].shape == saved["layer_-1_alt"].shape == (2, 32)
    assert not np.allclose(saved["layer_-1_ref"], saved["layer_-1_alt"])
