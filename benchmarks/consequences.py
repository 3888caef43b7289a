"""Model scores per coding-consequence class on a real annotated genome (issue 20). Prints one JSON object.

Draws random SNVs in the CDS of a GFF3-annotated genome (positions uniform over coding bases, ALT uniform among
the three other bases) and random SNVs outside every CDS (introns, UTRs, intergenic), scores them with
``score_variants(..., annotation=GFF3)`` (LLR = LL(ALT window) - LL(REF window), nats, both strands) and reports
per consequence class (the first term of INFO/BIOLM_CSQ): n, median, quartiles, and how well a lower LLR
separates the class from synonymous SNVs (AUROC, one-sided Mann-Whitney p). Writes a box plot.

    python benchmarks/consequences.py --model runs/x/export --out bench_csq             # A. thaliana Chr1 slice
    python benchmarks/consequences.py --model DIR --out DIR --n-coding 300 --n-noncoding 100   # quick check

If the model learned coding constraint, stop_gained and missense score lower than synonymous (AUROC > 0.5).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "dna"


def sample_snvs(genome, features, contigs: list[str], n_coding: int, n_noncoding: int,
                rng: np.random.Generator) -> list[tuple[str, int, str, str]]:
    """``(contig, 1-based pos, ref, alt)`` SNVs: ``n_coding`` inside CDS parts, ``n_noncoding`` outside, sorted."""
    masks = {c: np.zeros(genome.lengths[c], dtype=bool) for c in contigs}
    for feature in features:
        if feature.contig in masks:
            for start, end in feature.parts:
                masks[feature.contig][start:end] = True
    coding = np.concatenate([np.stack([np.full(m.sum(), i), np.flatnonzero(m)], 1) for i, m in enumerate(masks.values())])
    other = np.concatenate([np.stack([np.full((~m).sum(), i), np.flatnonzero(~m)], 1)
                            for i, m in enumerate(masks.values())])
    picks = [coding[rng.choice(len(coding), min(n_coding, len(coding)), replace=False)],
             other[rng.choice(len(other), min(n_noncoding, len(other)), replace=False)]]
    snvs = []
    for index, position in np.concatenate(picks):
        contig = contigs[int(index)]
        ref = genome.fetch(contig, int(position), int(position) + 1)
        if ref in "ACGT":
            alt = rng.choice([b for b in "ACGT" if b != ref])
            snvs.append((contig, int(position) + 1, ref, str(alt)))
    return sorted(snvs, key=lambda s: (contigs.index(s[0]), s[1]))


def write_vcf(path: Path, snvs, lengths: dict[str, int]) -> Path:
    contigs = "".join(f"##contig=<ID={c},length={n}>\n" for c, n in lengths.items())
    rows = "".join(f"{c}\t{p}\t.\t{r}\t{a}\t.\t.\t.\n" for c, p, r, a in snvs)
    path.write_text("##fileformat=VCFv4.2\n" + contigs + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + rows)
    return path


def per_class(tsv: Path) -> dict[str, np.ndarray]:
    """LLR of the scored alleles, by the first term of their consequence."""
    lines = [line.split("\t") for line in tsv.read_text().splitlines()]
    header = lines[0]
    llr, csq = header.index("llr"), header.index("csq")
    classes: dict[str, list[float]] = {}
    for row in lines[1:]:
        if row[llr] != ".":
            classes.setdefault(row[csq].split("|")[0].split("&")[0], []).append(float(row[llr]))
    return {k: np.array(v) for k, v in classes.items()}


def summarize(classes: dict[str, np.ndarray]) -> dict[str, dict]:
    from scipy.stats import mannwhitneyu
    from sklearn.metrics import roc_auc_score

    from bioLM.scoring.consequence import SEVERITY

    synonymous = classes.get("synonymous", np.array([]))
    out = {}
    for name in sorted(classes, key=SEVERITY.index):
        values = classes[name]
        entry = {"n": int(len(values)), "median": float(np.median(values)), "mean": float(values.mean()),
                 "q25": float(np.quantile(values, 0.25)), "q75": float(np.quantile(values, 0.75))}
        if name != "synonymous" and len(values) >= 5 and len(synonymous) >= 5:
            labels = np.r_[np.ones(len(values)), np.zeros(len(synonymous))]
            entry["auroc_lower_than_synonymous"] = float(roc_auc_score(labels, -np.r_[values, synonymous]))
            entry["mannwhitney_p_less"] = float(mannwhitneyu(values, synonymous, alternative="less").pvalue)
        out[name] = entry
    return out


def box_plot(classes: dict[str, np.ndarray], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bioLM.scoring.consequence import SEVERITY

    names = sorted(classes, key=SEVERITY.index)
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2, 4))
    ax.boxplot([classes[n] for n in names], showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), [f"{n}\n(n={len(classes[n])})" for n in names], fontsize=8)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("LLR, nats (ALT - REF window)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="exported model directory")
    parser.add_argument("--fasta", type=Path, default=DATA / "athaliana_1pct.fa")
    parser.add_argument("--gff3", type=Path, default=DATA / "athaliana_1pct.gff3")
    parser.add_argument("--contigs", default="Chr1", help="comma-separated contigs to draw SNVs on")
    parser.add_argument("--n-coding", type=int, default=1500)
    parser.add_argument("--n-noncoding", type=int, default=500)
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--genetic-code", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="folder for the VCF, TSV, plot and results.json")
    args = parser.parse_args()

    import torch

    from bioLM.io import Genome
    from bioLM.io.features import read_features
    from bioLM.scoring.variants import score_variants

    args.out.mkdir(parents=True, exist_ok=True)
    contigs = args.contigs.split(",")
    with Genome(args.fasta) as genome:
        features = read_features(args.gff3, ["CDS"])
        snvs = sample_snvs(genome, features, contigs, args.n_coding, args.n_noncoding,
                           np.random.default_rng(args.seed))
        vcf = write_vcf(args.out / "snvs.vcf", snvs, {c: genome.lengths[c] for c in contigs})
    start = time.perf_counter()
    summary = score_variants(args.model, args.fasta, vcf, args.out / "scored.vcf.gz", tsv=args.out / "scored.tsv",
                             annotation=args.gff3, genetic_code=args.genetic_code, window=args.window,
                             progress=False, device="cpu")
    seconds = time.perf_counter() - start
    classes = per_class(args.out / "scored.tsv")
    box_plot(classes, args.out / "consequences.png",
             f"{'/'.join(args.model.parts[-2:])}: SNVs on {args.fasta.name} {args.contigs} ({args.window} bp windows)")
    result = {"model": str(args.model), "fasta": str(args.fasta), "gff3": str(args.gff3), "contigs": contigs,
              "window": args.window, "seed": args.seed, "snvs": len(snvs), "scored": summary.scored,
              "skipped": summary.skipped, "score_seconds": round(seconds, 1), "threads": torch.get_num_threads(),
              "classes": summarize(classes), "plot": str(args.out / "consequences.png")}
    (args.out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
