"""Sequence I/O: FASTA/FASTQ reading and writing, indexed genomes, windows, BED/GFF3 intervals, file info.

Coordinates: integer ``start``/``end`` are 0-based half-open; ``"chr:start-end"`` strings are 1-based
inclusive and converted only by :func:`bioLM.io.genome.parse_region`.
"""

from bioLM.io.fastx import FastxReader, FileFormat, Record, read_fastx, sniff
from bioLM.io.genome import Contig, Genome, Window, iter_windows, parse_region
from bioLM.io.info import file_info
from bioLM.io.intervals import Region, read_bed, read_gff3
from bioLM.io.writer import write_fasta

__all__ = [
    "Contig", "FastxReader", "FileFormat", "Genome", "Record", "Region", "Window", "file_info",
    "iter_windows", "parse_region", "read_bed", "read_fastx", "read_gff3", "sniff", "write_fasta",
]
