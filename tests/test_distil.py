"""Distillation into fewer layers (training/distil.py), on a tiny teacher built in the test."""
import json

import numpy as np

from models.modeling import ThemeModel
from tests.tiny_model import build_tiny_model
from training.distil import distil


def test_student_has_fewer_layers_learns_the_teachers_decisions_and_says_where_it_came_from(tmp_path, seed_documents):
    teacher = build_tiny_model(tmp_path / "teacher", seed_documents)
    student = distil(teacher, tmp_path / "student", layers=1, train_layers=1, corpus_sample=0, epochs=2,
                     groups=[seed_documents], corpus_documents=[], progress=False)
    t, s = ThemeModel.load(teacher), ThemeModel.load(student)
    assert s.model.config.num_hidden_layers == 2 < t.model.config.num_hidden_layers == 3   # one base layer + the pooling layer
    assert s.themes == t.themes
    meta = json.loads((student / "policy_tagger.json").read_text(encoding="utf-8"))
    assert meta["recipe"]["distilled_from"] == str(teacher) and meta["recipe"]["layers"] == 1
    assert (student / "rules.yaml").read_text(encoding="utf-8") == (teacher / "rules.yaml").read_text(encoding="utf-8")
    texts = [p.text for d in seed_documents for p in d.paragraphs][:40]
    assert np.isfinite(s.predict_proba(texts)).all()
