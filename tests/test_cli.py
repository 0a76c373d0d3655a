import json

from typer.testing import CliRunner

from policy_tagger import app
from tests.conftest import SEEDS

runner = CliRunner()


def test_segment_prints_every_seed():
    result = runner.invoke(app, ["segment", str(SEEDS)])
    assert result.exit_code == 0, result.output
    assert "000_91c9a2ab24414203  (12 paragraphs" in result.output
    assert "5 report(s), 0 skipped" in result.output
    assert "(hù)" not in result.output and "體" not in result.output


def test_segment_writes_jsonl_and_reports_bad_files(tmp_path):
    (tmp_path / "good.txt").write_text("一、总体要求\n推进殡葬惠民。", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"")
    out = tmp_path / "out" / "paragraphs.jsonl"
    result = runner.invoke(app, ["segment", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "bad.txt: empty file" in result.output
    rows = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["kind"], r["heading"]) for r in rows] == [("heading", None), ("body", "一、总体要求")]


def test_no_readable_report_is_an_error(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"")
    result = runner.invoke(app, ["segment", str(tmp_path)])
    assert result.exit_code == 2
    assert "no readable report" in result.output


def test_the_cli_defaults_are_the_libraries():
    import policy_tagger
    from models.rules import DEFAULT_RULES
    from training.dataset import CORPUS_NEGATIVES, DEFAULT_UNITS

    assert (policy_tagger.DEFAULT_UNITS, policy_tagger.CORPUS_NEGATIVES) == (DEFAULT_UNITS, CORPUS_NEGATIVES)
    assert policy_tagger.DEFAULT_RULES == DEFAULT_RULES
