"""ONNX Runtime as the network of a model folder: exported once beside the transformers weights, opened by ORT's own loader.

    >>> ThemeModel.load("models/mine", backend="onnx")                 # doctest: +SKIP  (model.onnx, fp32)
    >>> ThemeModel.load("models/mine", backend="onnx", quantize=True)  # doctest: +SKIP  (model.int8.onnx)

`model.onnx` takes `input_ids` and `attention_mask` (int64, batch x tokens) and returns `logits` (batch x themes), so
`onnxruntime.InferenceSession(DIR / "model.onnx").run(None, {...})` is all another program needs; the tokenizer, the
themes and the thresholds are the folder's own files.  The int8 file quantises the same matrix products that
`models.modeling.quantize_int8` does (per channel; not the FFN output projections, not the last layer).

The network is exported with transformers' eager attention, not its default SDPA: the same scores (within 1e-5), but
SDPA's traced mask handling costs ORT about a fifth of the int8 tagging time (eval/results/benchmark.md).
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
EXPORT_KEY, EXPORT_FORMAT = "policy_tagger.export", "2: eager attention"   # in model.onnx; another format is exported again


class _Logits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def _stale(target: Path, folder: Path) -> bool:
    weights = list(folder.glob("model*.safetensors")) + [folder / "config.json"]   # the network's (not the n-gram reader's)
    return not target.is_file() or any(p.is_file() and p.stat().st_mtime > target.stat().st_mtime for p in weights)


def _export_format(path: Path) -> str | None:
    import onnx

    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}.get(EXPORT_KEY)   # tens of ms


def export_onnx(folder: str | Path, *, int8: bool = False) -> Path:
    """The folder's ONNX file (fp32, or int8 with `int8=True`), exported now if missing, older than the weights or
    of another export format."""
    from models.atomic import atomic_path

    folder = Path(folder)
    fp32 = folder / ONNX_FILE
    target = folder / ONNX_INT8_FILE
    export = _stale(fp32, folder) or _export_format(fp32) != EXPORT_FORMAT
    quantise = int8 and (export or _stale(target, folder) or target.stat().st_mtime < fp32.stat().st_mtime)
    if export or quantise:
        made = [f.name for f, wanted in ((fp32, export), (target, quantise)) if wanted]
        print(f"Exporting {folder} to ONNX Runtime ({', '.join(made)}; once, seconds)...", file=sys.stderr)
    if export:
        import onnx
        from transformers import AutoModelForSequenceClassification

        model = AutoModelForSequenceClassification.from_pretrained(folder, attn_implementation="eager").eval()
        ids = torch.ones((2, 16), dtype=torch.long)
        with atomic_path(fp32) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")   # the TorchScript exporter's notes on traced control flow: shapes stay dynamic below
            torch.onnx.export(_Logits(model), (ids, torch.ones_like(ids)), str(tmp), input_names=["input_ids", "attention_mask"],
                              output_names=["logits"], opset_version=17, dynamo=False,
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                                            "logits": {0: "batch"}})
            graph = onnx.load(str(tmp))
            onnx.helper.set_model_props(graph, {EXPORT_KEY: EXPORT_FORMAT})
            onnx.save(graph, str(tmp))
    if quantise:
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
    return target if int8 else fp32


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
