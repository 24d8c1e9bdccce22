"""The lab: what runs offline only. The synthetic-scan generator, training of the
page classifier, its evaluation on generated and real documents, the OCR-noise
model and the text metrics. Nothing at run time imports it (import-linter
contract in pyproject.toml); ``sohoa train`` and ``sohoa evaluate`` call into it."""
