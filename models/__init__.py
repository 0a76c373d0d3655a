"""Everything needed to *run* policy-tagger: reading reports, normalising, segmenting, models, tagging."""
from .decision import WeightedVote, rules_and_model
from .document import Document, build_document, load_documents
from .ingest import IngestError, read_report, read_reports
from .normalise import NormaliseConfig, NormalisedText, normalise
from .rules import ABSTAIN, NEGATIVE, POSITIVE, Rule, RuleConfigError, RuleSet, Theme, VoteMatrix, apply_rules
from .segment import Paragraph, Sentence, segment, split_sentences
from .tagger import Evidence, TaggedDocument, TaggedParagraph, Tagger, ThemeHit, ThemeSummary

__all__ = [
    "Document", "build_document", "load_documents",
    "IngestError", "read_report", "read_reports",
    "NormaliseConfig", "NormalisedText", "normalise",
    "ABSTAIN", "NEGATIVE", "POSITIVE", "Rule", "RuleConfigError", "RuleSet", "Theme", "VoteMatrix", "apply_rules",
    "WeightedVote", "rules_and_model",
    "Paragraph", "Sentence", "segment", "split_sentences",
    "Evidence", "TaggedDocument", "TaggedParagraph", "Tagger", "ThemeHit", "ThemeSummary",
]
