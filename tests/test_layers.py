"""The floors of the project: running a model (models/) never reaches up into training/ or eval/."""
import ast
import sys
from pathlib import Path

from tests.conftest import ROOT


def _imports(path: Path) -> set[str]:
    """Top-level package names imported anywhere in a module (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_nothing_under_models_imports_training_or_eval():
    offenders = {p.name: sorted(_imports(p) & {"training", "eval", "policy_tagger"}) for p in sorted((ROOT / "models").glob("*.py"))}
    assert not {k: v for k, v in offenders.items() if v}


def test_the_walk_catches_a_climbing_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from training.rules import RuleSet\n", encoding="utf-8")
    assert "training" in _imports(bad)


def test_tagging_loads_no_training_or_eval_module(tmp_path):
    # A fresh interpreter: a tag call with rules and the rules+model decision, then which modules got loaded.
    import subprocess

    code = (
        "import sys, numpy as np\n"
        "from models import RuleSet, Tagger\n"
        "class M:\n"
        "    themes = RuleSet.load().theme_ids\n"
        "    thresholds = np.full(len(themes), 0.5)\n"
        "    rules_and_model_lines = (thresholds, np.zeros(len(themes)))\n"
        "    class meta: theme_names = {}\n"
        "    def predict_proba(self, texts, batch_size=32): return np.full((len(texts), len(self.themes)), 0.1)\n"
        "doc = Tagger(M(), rules=RuleSet.load(), decision='rules+model').tag('一、推进殡葬改革\\n新建公益性公墓3处。')\n"
        "assert [t.theme for t in doc.paragraphs[1].themes] == ['affairs'], doc\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'training', 'eval'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_run_time_path_leaves_the_repository():
    # The product and its tests read only what the repository holds: no path into a `shared` folder beside it.
    for path in [ROOT / "policy_tagger.py", *sorted(ROOT.glob("models/*.py")), *sorted(ROOT.glob("training/*.py")),
                 *sorted(ROOT.glob("eval/*.py")), *sorted(ROOT.glob("tests/*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and path.name != "test_layers.py":
                assert node.value != "shared" and "../shared" not in node.value and "shared/corpora" not in node.value, path


def test_the_corpora_and_their_split_are_in_the_repository():
    from training.corpus import REPORT_CORPUS, civil_affairs_files, civil_affairs_manifest

    assert REPORT_CORPUS.is_file() and REPORT_CORPUS.stat().st_size > 3_000_000
    manifest = civil_affairs_manifest()
    assert len(manifest) == 288 and all((ROOT / "training/corpora/civil_affairs_reports/docs" / f"{m['id']}.txt").is_file() for m in manifest)
    sizes = {s: len(civil_affairs_files(s)) for s in ("train", "dev", "test")}
    assert sizes == {"train": 240, "dev": 24, "test": 24}
    # One dev and one test document of each of the 24 kinds of text.
    for split in ("dev", "test"):
        assert len({m["slice"] for m in manifest if m["split"] == split}) == 24
