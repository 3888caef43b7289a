import io

from bioLM.io import Record, read_fastx, write_fasta


def test_write_fasta_wraps_and_round_trips(tmp_path):
    records = [Record("a", "desc here", "ACGTACGTAC"), Record("b", "", ""), Record("c", "", "GG")]
    handle = io.StringIO()
    assert write_fasta(handle, records, width=4) == 3
    assert handle.getvalue() == ">a desc here\nACGT\nACGT\nAC\n>b\n>c\nGG\n"
    path = tmp_path / "out.fa.gz"
    write_fasta(path, records, width=0)
    back = [(r.id, r.description, r.sequence) for r in read_fastx(path)]
    assert back == [(r.id, r.description, r.sequence) for r in records]
