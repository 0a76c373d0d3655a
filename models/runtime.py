"""ONNX Runtime as the network of a model folder: exported once beside the transformers weights, opened by ORT's own loader.

    >>> ThemeModel.load("models/mine", backend="onnx")                 # doctest: +SKIP  (model.onnx, fp32)
    >>> ThemeModel.load("models/mine", backend="onnx", quantize=True)  # doctest: +SKIP  (model.int8.onnx)

`model.onnx` takes `input_ids` and `attention_mask` (int64, batch x tokens) and returns `logits` (batch x themes), so
`onnxruntime.InferenceSession(DIR / "model.onnx").run(None, {...})` is all another program needs; the tokenizer, the
themes and the thresholds are the folder's own files.  The int8 file quantises the same matrix products that
`models.modeling.quantize_int8` does (per channel; not the FFN output projections, not the last layer).
"""
from __future__ import annotations

import logging
import re
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import torch

ONNX_FILE, ONNX_INT8_FILE = "model.onnx", "model.int8.onnx"
BACKENDS = ("torch", "onnx")


class _Logits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def _stale(target: Path, folder: Path) -> bool:
    weights = list(folder.glob("model*.safetensors")) + [folder / "config.json"]   # the network's (not the n-gram reader's)
    return not target.is_file() or any(p.is_file() and p.stat().st_mtime > target.stat().st_mtime for p in weights)


def export_onnx(folder: str | Path, *, int8: bool = False) -> Path:
    """The folder's ONNX file (fp32, or int8 with `int8=True`), exported now if missing or older than the weights."""
    from models.atomic import atomic_path

    folder = Path(folder)
    fp32 = folder / ONNX_FILE
    if _stale(fp32, folder):
        from transformers import AutoModelForSequenceClassification

        print(f"Exporting {folder} to ONNX Runtime ({ONNX_FILE}{', ' + ONNX_INT8_FILE if int8 else ''}; once, seconds)...", file=sys.stderr)
        model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
        ids = torch.ones((2, 16), dtype=torch.long)
        with atomic_path(fp32) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the TorchScript exporter's notes on traced control flow: shapes stay dynamic below
            torch.onnx.export(_Logits(model), (ids, torch.ones_like(ids)), str(tmp), input_names=["input_ids", "attention_mask"],
                              output_names=["logits"], opset_version=17, dynamo=False,
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                                            "logits": {0: "batch"}})
    if not int8:
        return fp32
    target = folder / ONNX_INT8_FILE
    if _stale(target, folder) or target.stat().st_mtime < fp32.stat().st_mtime:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        names = [n.name for n in onnx.load(str(fp32)).graph.node if n.op_type in ("MatMul", "Gemm")]
        layers = [int(m.group(1)) for n in names if (m := re.search(r"/encoder/layer\.(\d+)/", n))]
        last = f"/encoder/layer.{max(layers)}/" if layers else "\0"
        keep = [n for n in names if "/encoder/layer." not in n or last in n or re.search(r"/output/dense/", n) and "/attention/" not in n]
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)   # its advice to pre-process first is for static quantisation, not this
        try:
            with atomic_path(target) as tmp:
                quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=keep)
        finally:
            root.setLevel(level)
    return target


class OnnxNetwork:
    """Stands in for the transformers model inside `ThemeModel`: same call, same `.logits`."""

    def __init__(self, path: str | Path, *, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, *, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        logits = self.session.run(["logits"], {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy()})[0]
        return SimpleNamespace(logits=torch.from_numpy(logits))

    def eval(self) -> "OnnxNetwork":
        return self

    def parameters(self):
        return iter(())
