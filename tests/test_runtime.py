"""ONNX Runtime as the tagging network (models/runtime.py), on a tiny model built in the test."""
import numpy as np
import pytest

from models.modeling import ThemeModel
from models.runtime import ONNX_FILE, ONNX_INT8_FILE, export_onnx
from models.tagger import Tagger
from tests.tiny_model import build_tiny_model

TEXTS = ["全年发放低保金3200万元，临时救助1200人次。", "新建农村幸福院12所。", "婚姻登记实现全省通办。" * 40]


@pytest.fixture(scope="module")
def model(tmp_path_factory, seed_documents):
    return build_tiny_model(tmp_path_factory.mktemp("onnx"), seed_documents)


def test_onnx_scores_match_pytorch_and_the_file_opens_with_onnx_runtime_alone(model):
    import onnxruntime as ort

    torch_scores = ThemeModel.load(model).predict_proba(TEXTS)
    onnx_model = ThemeModel.load(model, backend="onnx")
    assert (model / ONNX_FILE).is_file()
    np.testing.assert_allclose(onnx_model.predict_proba(TEXTS), torch_scores, atol=1e-4)   # the long text: several windows
    ids = onnx_model.tokenizer(["新建农村幸福院12所。"], return_tensors="np")
    session = ort.InferenceSession(str(model / ONNX_FILE), providers=["CPUExecutionProvider"])   # ORT's documented loader
    (logits,) = session.run(["logits"], {"input_ids": ids["input_ids"].astype(np.int64), "attention_mask": ids["attention_mask"].astype(np.int64)})
    assert logits.shape == (1, len(onnx_model.themes))


def test_int8_onnx_is_close_and_tags(model):
    full = ThemeModel.load(model).predict_proba(TEXTS)
    q = ThemeModel.load(model, backend="onnx", quantize=True)
    assert (model / ONNX_INT8_FILE).is_file()
    assert np.abs(q.predict_proba(TEXTS) - full).max() < 0.1
    doc = Tagger.load(model, backend="onnx", quantize=True).tag("一、兜底保障\n全年发放低保金3200万元。", doc_id="r")
    assert [p.index for p in doc.paragraphs] == [0, 1]


def test_export_is_redone_when_the_weights_change(model):
    onnx = export_onnx(model)
    before = onnx.stat().st_mtime_ns
    assert export_onnx(model).stat().st_mtime_ns == before        # current: kept
    weights = next(model.glob("*.safetensors"))
    weights.touch()
    assert export_onnx(model).stat().st_mtime_ns > before        # the weights are newer: exported again


def test_an_export_of_another_format_is_redone_and_its_int8_file_with_it(model, capsys):
    import onnx

    from models.runtime import EXPORT_FORMAT, EXPORT_KEY

    int8 = export_onnx(model, int8=True)
    fp32 = model / ONNX_FILE
    old = onnx.load(str(fp32))
    del old.metadata_props[:]                                     # as the exports before the format stamp were
    onnx.save(old, str(fp32))
    capsys.readouterr()
    before = int8.stat().st_mtime_ns
    assert export_onnx(model, int8=True) == int8 and int8.stat().st_mtime_ns > before
    assert {p.key: p.value for p in onnx.load(str(fp32)).metadata_props}[EXPORT_KEY] == EXPORT_FORMAT
    assert f"({ONNX_FILE}, {ONNX_INT8_FILE}; once" in capsys.readouterr().err
    assert "Exporting" not in (export_onnx(model, int8=True), capsys.readouterr().err)[1]   # current now: silent, kept


def test_unknown_backend_is_an_error(model):
    with pytest.raises(ValueError, match="backend"):
        ThemeModel.load(model, backend="tensorrt")


def test_tag_command_runs_int8_onnx_by_default_and_torch_on_request(model, tmp_path):
    import json
    import shutil

    from typer.testing import CliRunner

    from policy_tagger import app

    folder = shutil.copytree(model, tmp_path / "model")
    for f in (ONNX_FILE, ONNX_INT8_FILE):
        (folder / f).unlink(missing_ok=True)
    report = tmp_path / "r.txt"
    report.write_text("一、兜底保障\n全年发放低保金3200万元，临时救助1200人次。\n新建农村幸福院12所。", encoding="utf-8")

    def tagged(*options):
        result = CliRunner().invoke(app, ["tag", str(report), "--model", str(folder), *options])
        assert result.exit_code == 0, result.output
        return [json.loads(line)["scores"] for line in result.stdout.splitlines() if line.startswith("{")]

    def expected(**load):
        doc = Tagger.load(folder, decision="rules+model", **load).tag(report.read_text(encoding="utf-8"), doc_id="r")
        return [p.scores for p in doc.paragraphs]

    default = tagged()
    assert (folder / ONNX_INT8_FILE).is_file()                     # the default path exported and quantised the folder
    assert default == expected(backend="onnx", quantize=True)
    assert tagged("--backend", "torch") == expected(backend="torch")
    assert tagged("--no-quantize") == expected(backend="onnx", quantize=False)
