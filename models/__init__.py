"""Everything needed to *run* policy-tagger: reading reports, normalising, segmenting, models, tagging."""
from .document import Document, build_document, load_documents
from .ingest import IngestError, read_report, read_reports
from .normalise import NormaliseConfig, NormalisedText, normalise
from .segment import Paragraph, Sentence, segment, split_sentences
from .tagger import Evidence, TaggedDocument, TaggedParagraph, Tagger, ThemeHit, ThemeSummary

__all__ = [
    "Document", "build_document", "load_documents",
    "IngestError", "read_report", "read_reports",
    "NormaliseConfig", "NormalisedText", "normalise",
    "Paragraph", "Sentence", "segment", "split_sentences",
    "Evidence", "TaggedDocument", "TaggedParagraph", "Tagger", "ThemeHit", "ThemeSummary",
]
