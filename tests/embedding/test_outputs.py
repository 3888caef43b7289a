"""Output writers (round trips, shards, resume), region/VCF inputs and `biolm embed`."""

from __future__ import annotations

import numpy as np
import pysam
import pytest

from bioLM.alphabet import reverse_complement
from bioLM.cli import main
from bioLM.embedding import (
    EmbeddingTable,
    EmbedJob,
    embed,
    embed_to_file,
    read_npz,
    read_parquet,
    region_records,
    variant_records,
    write_table,
)
from bioLM.embedding.writers import ShardedWriter
from bioLM.errors import ConfigError, ContigNotFoundError, InputFormatError
from bioLM.synthetic import random_dna, write_fasta_records


def _table(rng, n=4, h=3) -> EmbeddingTable:
    return EmbeddingTable([f"s{i}" for i in range(n)],
                          {"layer_-1": rng.normal(size=(n, h)).astype(np.float32),
                           "layer_0": rng.normal(size=(n, h)).astype(np.float32)},
                          {"length": list(range(n)), "strand": ["+", "-"] * (n // 2)})


def test_npz_and_parquet_round_trip(tmp_path, rng):
    table = _table(rng)
    for name, read in (("e.npz", read_npz), ("e.parquet", read_parquet)):
        write_table(tmp_path / name, table)
        back = read(tmp_path / name)
        assert back.ids == table.ids and back.metadata == table.metadata
        for key, values in table.arrays.items():
            np.testing.assert_array_equal(back.arrays[key], values)


def test_npy_tsv_and_h5ad(tmp_path, rng):
    import anndata

    table = _table(rng)
    paths = write_table(tmp_path / "e.npy", table)
    assert sorted(p.name for p in paths) == ["e.ids.tsv", "e.layer_-1.npy", "e.layer_0.npy"]
    np.testing.assert_array_equal(np.load(tmp_path / "e.layer_0.npy"), table.arrays["layer_0"])
    lines = (tmp_path / "e.ids.tsv").read_text().splitlines()
    assert lines[0] == "id\tlength\tstrand" and lines[2] == "s1\t1\t-"
    write_table(tmp_path / "e.h5ad", table)
    adata = anndata.read_h5ad(tmp_path / "e.h5ad")
    assert list(adata.obs_names) == table.ids and list(adata.obs["strand"]) == table.metadata["strand"]
    np.testing.assert_array_equal(adata.obsm["X_biolm_layer-1"], table.arrays["layer_-1"])
    assert adata.uns["biolm"]["obsm_keys"] == {"layer_-1": "X_biolm_layer-1", "layer_0": "X_biolm_layer0"}
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporaries


def test_ragged_only_npz(tmp_path):
    table = EmbeddingTable(["a", "b"], {"layer_-1": [np.ones((2, 3)), np.zeros((5, 3))]})
    write_table(tmp_path / "r.npz", table)
    assert [a.shape for a in read_npz(tmp_path / "r.npz").arrays["layer_-1"]] == [(2, 3), (5, 3)]
    with pytest.raises(ConfigError, match="npz"):
        write_table(tmp_path / "r.parquet", table)
    with pytest.raises(ConfigError, match="--format"):
        write_table(tmp_path / "r.csv", table)


def test_resume_settings_must_match(tmp_path):
    writer = ShardedWriter(tmp_path / "o.npz", settings={"pooling": "mean"})
    assert not writer.directory.exists()  # nothing on disk before the first shard
    writer.write_shard(0, EmbeddingTable(["a"], {"layer_-1": np.ones((1, 2))}))
    with pytest.raises(ConfigError, match="changed since: pooling"):
        ShardedWriter(tmp_path / "o.npz", resume=True, settings={"pooling": "max"})


def test_embed_to_file_shards_and_resume(tmp_path, rng, loaded, model_dir, monkeypatch):
    model, tokenizer = loaded
    records = [(f"r{i}", random_dna(int(n), rng)) for i, n in enumerate(rng.integers(5, 30, size=7))]
    fasta = write_fasta_records(tmp_path / "in.fa", records)
    job = EmbedJob(model=model_dir, out=tmp_path / "out.npz", fasta=fasta, shard_size=3, keep_shards=True)
    summary = embed_to_file(job, model, tokenizer)
    assert (summary.rows, summary.shards, summary.shards_resumed) == (7, 3, 0)
    out = read_npz(tmp_path / "out.npz")
    assert out.ids == [r[0] for r in records]
    expected = embed([s for _, s in records], model, tokenizer)[-1]
    np.testing.assert_allclose(out.arrays["layer_-1"], expected, atol=1e-5)
    (tmp_path / "out.npz.shards" / "shard-00001.npz").unlink()  # as if interrupted during shard 1
    calls = []
    import bioLM.embedding.job as job_module
    original = job_module.embed_records
    monkeypatch.setattr(job_module, "embed_records", lambda chunk, *a, **k: calls.append(len(chunk))
                        or original(chunk, *a, **k))
    job.resume, job.keep_shards = True, False
    summary = embed_to_file(job, model, tokenizer)
    assert calls == [3] and summary.shards_resumed == 2  # only the missing shard is recomputed
    np.testing.assert_allclose(read_npz(tmp_path / "out.npz").arrays["layer_-1"], expected, atol=1e-5)
    assert not (tmp_path / "out.npz.shards").exists()


def test_resume_refuses_shards_of_an_edited_input_or_replaced_model(tmp_path, rng, loaded, model_dir):
    import shutil

    model, tokenizer = loaded
    fasta = write_fasta_records(tmp_path / "in.fa", [(f"r{i}", random_dna(20, rng)) for i in range(4)])
    own_model = tmp_path / "model"
    shutil.copytree(model_dir, own_model)
    job = EmbedJob(model=own_model, out=tmp_path / "out.npz", fasta=fasta, shard_size=2, keep_shards=True)
    embed_to_file(job, model, tokenizer)
    (tmp_path / "out.npz.shards" / "shard-00001.npz").unlink()
    job.resume = True
    fasta.write_text(fasta.read_text().replace("r0", "q0"))  # edited in place, same size
    with pytest.raises(ConfigError, match="changed since: inputs"):
        embed_to_file(job, model, tokenizer)
    fasta.write_text(fasta.read_text().replace("q0", "r0"))
    weights = next(own_model.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))  # weights replaced, same size
    with pytest.raises(ConfigError, match="changed since: model"):
        embed_to_file(job, model, tokenizer)


def test_failed_embed_leaves_no_shard_directory(tmp_path, loaded, model_dir):
    model, tokenizer = loaded
    bad = tmp_path / "bad.fa"
    bad.write_text(">a\nACGT\n>b\nAC!T\n")
    job = EmbedJob(model=model_dir, out=tmp_path / "out.npz", fasta=bad)
    with pytest.raises(InputFormatError):
        embed_to_file(job, model, tokenizer)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.fa"]


@pytest.fixture
def reference(tmp_path, rng):
    chrom = random_dna(200, rng)
    path = write_fasta_records(tmp_path / "ref.fa", [("chr1", chrom), ("chr2", random_dna(50, rng))])
    pysam.faidx(str(path))
    return path, chrom


def test_regions_strand_aware_and_missing_contig(tmp_path, reference):
    path, chrom = reference
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t10\t20\tfwd\t0\t+\nchr1\t30\t45\trev\t0\t-\n")
    records = list(region_records(path, bed))
    assert [r.id for r in records] == ["fwd", "rev"]
    assert records[0].sequences[""] == chrom[10:20]
    assert records[1].sequences[""] == reverse_complement(chrom[30:45])
    assert records[1].metadata["strand"] == "-" and records[1].metadata["start"] == 30
    bed.write_text("chr1\t10\t20\nchrX\t1\t5\n")
    with pytest.raises(ContigNotFoundError, match=r"r\.bed: region 2 .*'chrX'"):
        list(region_records(path, bed))


def _vcf(tmp_path, lines: list[str]):
    text = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=200>\n##contig=<ID=chr2,length=50>\n"
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "\n".join(lines) + "\n")
    plain = tmp_path / "v.vcf"
    plain.write_text(text)
    return pysam.tabix_index(str(plain), preset="vcf", force=True)


def test_vcf_snv_and_indels(tmp_path, reference):
    path, chrom = reference
    snv = f"chr1\t101\tsnv1\t{chrom[100]}\t{'A' if chrom[100] != 'A' else 'C'}\t.\t.\t."
    deletion = f"chr1\t51\t.\t{chrom[50:53]}\t{chrom[50]}\t.\t.\t."
    insertion = f"chr1\t5\t.\t{chrom[4]}\t{chrom[4]}GGG\t.\t.\t."
    vcf = _vcf(tmp_path, [insertion, deletion, snv])
    records = list(variant_records(path, vcf, window=20))
    assert [r.metadata["pos"] for r in records] == [5, 51, 101]
    ins, dele, sn = records
    assert sn.id == "snv1"
    # one window rule with score-variants (bioLM.io.vcf): centred on REF, shifted inward at contig ends
    assert sn.sequences["ref"] == chrom[91:111] and len(sn.sequences["alt"]) == 20
    alt = sn.metadata["alt"]
    assert sn.sequences["alt"] == chrom[91:100] + alt + chrom[101:111]
    assert dele.sequences["ref"] == chrom[42:62]
    assert dele.sequences["alt"] == chrom[42:51] + chrom[53:62]  # same interval, 2 bases shorter
    assert ins.sequences["ref"] == chrom[:20]  # shifted to the contig start, never padded with N
    assert ins.sequences["alt"] == chrom[:5] + "GGG" + chrom[5:20]
    assert ins.metadata["window_start"] == 0 and ins.metadata["variant_offset"] == 4


def test_vcf_position_past_contig_end_says_so(tmp_path, reference):
    path, chrom = reference
    vcf = _vcf(tmp_path, ["chr2\t49\t.\tACGT\tA\t.\t.\t."])  # chr2 has 50 bases: REF runs past its end
    with pytest.raises(InputFormatError, match=r"line 5 chr2:49 REF=ACGT runs past the end of contig chr2"):
        list(variant_records(path, vcf, window=10))


def test_vcf_ref_mismatch_error_and_skip(tmp_path, reference):
    path, chrom = reference
    wrong = "A" if chrom[20] != "A" else "C"
    vcf = _vcf(tmp_path, [f"chr1\t21\t.\t{wrong}\tG\t.\t.\t.", f"chr1\t31\t.\t{chrom[30]}\tN\t.\t.\t."])
    with pytest.raises(InputFormatError, match=rf"1 of 2 alleles.*line 5 chr1:21 REF={wrong} "
                                               rf"reference={chrom[20]}.*--skip-ref-mismatch"):
        list(variant_records(path, vcf, window=10))
    from bioLM.embedding import VariantStats
    stats = VariantStats()
    records = list(variant_records(path, vcf, window=10, skip_ref_mismatch=True, stats=stats))
    assert [r.metadata["pos"] for r in records] == [31] and stats.ref_mismatch == 1
    (tmp_path / "m.vcf").write_text("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=200>\n##contig=<ID=chr7>\n"
                                    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                                    f"chr1\t31\t.\t{chrom[30]}\tN\t.\t.\t.\nchr7\t2\t.\tA\tG\t.\t.\t.\n")
    with pytest.raises(ContigNotFoundError, match=r"m\.vcf: the variant at line 6 is on contig 'chr7'"):
        list(variant_records(path, tmp_path / "m.vcf", window=10))


def test_cli_vcf_side_by_side(tmp_path, reference, model_dir, capsys):
    path, chrom = reference
    vcf = _vcf(tmp_path, [f"chr1\t60\tv1\t{chrom[59:61]}\tA\t.\t.\t.", f"chr1\t101\tv2\t{chrom[100]}\tT\t.\t.\t."])
    out = tmp_path / "v.h5ad"
    assert main(["embed", "--model", str(model_dir), "--reference", str(path), "--vcf", str(vcf),
                 "--out", str(out), "--layers=-1,0"]) == 0
    import anndata

    adata = anndata.read_h5ad(out)
    assert list(adata.obs_names) == ["v1", "v2"]
    assert sorted(adata.obsm) == ["X_biolm_layer-1", "X_biolm_layer-1_alt", "X_biolm_layer-1_ref",
                                  "X_biolm_layer0", "X_biolm_layer0_alt", "X_biolm_layer0_ref"]
    assert adata.obsm["X_biolm_layer-1_ref"].shape == (2, 32)
    np.testing.assert_array_equal(adata.obsm["X_biolm_layer0"],
                                  adata.obsm["X_biolm_layer0_alt"] - adata.obsm["X_biolm_layer0_ref"])


def test_cli_errors(tmp_path, model_dir, rng, capsys):
    fasta = write_fasta_records(tmp_path / "long.fa", [("long1", random_dna(100, rng))])
    assert main(["embed", "--model", str(model_dir), str(fasta), "--out", str(tmp_path / "o.npz")]) == 2
    assert "--window-overlap" in capsys.readouterr().err
    assert main(["embed", "--model", str(model_dir), str(fasta), "--out", str(tmp_path / "o.npz"),
                 "--window-overlap", "8"]) == 0
    assert main(["embed", "--model", str(tmp_path), str(fasta), "--out", str(tmp_path / "o.npz")]) == 2
    assert "no config.json" in capsys.readouterr().err


def test_gff3_regions(tmp_path, reference):
    path, chrom = reference
    gff = tmp_path / "g.gff3"
    gff.write_text("##gff-version 3\nchr1\tsrc\tgene\t11\t20\t.\t-\t.\tID=g1;Name=geneA\n"
                   "chr1\tsrc\texon\t11\t15\t.\t+\t.\tID=e1\n")
    records = list(region_records(path, gff, feature_types=["gene"]))
    assert len(records) == 1 and records[0].sequences[""] == reverse_complement(chrom[10:20])
    assert records[0].metadata["start"] == 10 and records[0].metadata["strand"] == "-"


def test_cli_per_base_npz(tmp_path, model_dir, rng, capsys):
    fasta = write_fasta_records(tmp_path / "in.fa", [("a", random_dna(50, rng)), ("b", random_dna(7, rng))])
    out = tmp_path / "bases.npz"
    assert main(["embed", "--model", str(model_dir), str(fasta), "--out", str(out), "--pooling", "per-base",
                 "--window-overlap", "4", "--layers", "all", "--shard-size", "1"]) == 0
    table = read_npz(out)
    assert table.ids == ["a", "b"] and sorted(table.arrays) == ["layer_0", "layer_1", "layer_2"]
    assert [a.shape for a in table.arrays["layer_2"]] == [(50, 32), (7, 32)]
    assert main(["embed", "--model", str(model_dir), str(fasta), "--out", str(tmp_path / "b.h5ad"),
                 "--pooling", "per-base"]) == 2
    assert "only an .npz output" in capsys.readouterr().err
