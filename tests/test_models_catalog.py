"""The shipped catalog matches docs/catalog.md; schemas of manifest and report keep the contract."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from models.catalog import load_catalog, parse_catalog
from models.schemas import (
    Catalog,
    Manifest,
    Report,
    ReportBundle,
    ReportChecklistItem,
    ReportDocument,
    ReportPage,
    parse_manifest,
)
from pipeline.errors import CatalogError, ManifestError, UnknownProcedure

DOC_TYPES = [
    "birth_reg_form", "birth_certificate_medical", "birth_witness_statement",
    "birth_self_declaration", "birth_certificate", "marriage_reg_form", "marriage_certificate",
    "death_reg_form", "death_notice", "marital_status_form", "marital_status_cert",
    "divorce_decision", "civil_change_form", "citizen_id", "passport", "authorization",
    "residence_change_form", "lease_agreement", "land_certificate", "land_reg_application",
    "cadastral_extract", "tax_payment_receipt", "hkd_application", "family_minutes",
    "building_permit_application", "design_drawings", "building_permit", "judicial_record_form",
]  # fmt: skip

# procedure -> (code, code_confirmed, [(requirement, kind, any_of, if_fact)])
PROCEDURES = {
    "birth_registration": ("1.001193", True, [
        ("form", "required", ["birth_reg_form"], None),
        ("birth_proof", "required", ["birth_certificate_medical", "birth_witness_statement",
                                     "birth_self_declaration"], None),
        ("authorization", "required", ["authorization"], "by_representative"),
        ("identity", "optional", ["citizen_id", "passport"], None)]),
    "marriage_registration": ("1.000894", True, [
        ("form", "required", ["marriage_reg_form"], None),
        ("divorce_record", "required", ["divorce_decision"], "previously_divorced"),
        ("identity", "optional", ["citizen_id", "passport"], None)]),
    "death_registration": ("1.000656", True, [
        ("form", "required", ["death_reg_form"], None),
        ("death_proof", "required", ["death_notice"], None),
        ("authorization", "required", ["authorization"], "by_representative"),
        ("identity", "optional", ["citizen_id", "passport"], None)]),
    "marital_status_certification": ("1.004873", True, [
        ("form", "required", ["marital_status_form"], None),
        ("divorce_record", "required", ["divorce_decision"], "previously_divorced"),
        ("previous_certificate", "required", ["marital_status_cert"], "reissue"),
        ("authorization", "required", ["authorization"], "by_representative")]),
    "civil_status_change": ("1.004859", True, [
        ("form", "required", ["civil_change_form"], None),
        ("civil_record", "required", ["birth_certificate"], None),
        ("authorization", "required", ["authorization"], "by_representative")]),
    "permanent_residence": ("1.004222", True, [
        ("form", "required", ["residence_change_form"], None),
        ("lawful_residence", "required", ["land_certificate", "building_permit",
                                          "lease_agreement"], None),
        ("relationship_proof", "required", ["birth_certificate", "marriage_certificate"],
         "joins_family")]),
    "land_first_registration": (None, False, [
        ("application", "required", ["land_reg_application"], None),
        ("cadastral_map", "required", ["cadastral_extract"], None),
        ("financial_obligation", "required", ["tax_payment_receipt"], "fee_paid_before_issue"),
        ("authorization", "required", ["authorization"], "by_representative")]),
    "household_business": ("1.001612", True, [
        ("application", "required", ["hkd_application"], None),
        ("owner_identity", "required", ["citizen_id", "passport"], None),
        ("family_minutes", "required", ["family_minutes"], "family_members_register"),
        ("authorization", "required", ["authorization"], "by_representative")]),
    "building_permit_house": ("1.009122", False, [
        ("application", "required", ["building_permit_application"], None),
        ("land_rights", "required", ["land_certificate"], None),
        ("drawings", "required", ["design_drawings"], None)]),
    "judicial_record_card": ("2.000488", True, [
        ("form", "required", ["judicial_record_form"], None),
        ("identity_copy", "required", ["citizen_id", "passport"], None),
        ("authorization", "required", ["authorization"], "by_representative")]),
}  # fmt: skip


def test_catalog_has_exactly_the_document_types_of_the_spec() -> None:
    cat = load_catalog()
    assert list(cat.doc_type_ids) == DOC_TYPES
    assert len(DOC_TYPES) == 28


def test_catalog_has_exactly_the_procedures_and_requirements_of_the_spec() -> None:
    cat = load_catalog()
    assert list(cat.procedure_ids) == list(PROCEDURES)
    for pid, (code, confirmed, reqs) in PROCEDURES.items():
        p = cat.procedure(pid)
        assert (p.code, p.code_confirmed) == (code, confirmed), pid
        got = [(r.id, r.kind, list(r.any_of), r.if_fact) for r in p.requirements]
        assert got == reqs, pid


def test_titles_of_the_spec_are_present() -> None:
    cat = load_catalog()
    assert cat.doc_type("divorce_decision").titles == (
        "BẢN ÁN … LY HÔN",
        "QUYẾT ĐỊNH CÔNG NHẬN THUẬN TÌNH LY HÔN",
    )
    assert "CĂN CƯỚC" in cat.doc_type("citizen_id").titles
    assert "TRÍCH LỤC KHAI SINH" in cat.doc_type("birth_certificate").titles
    assert "GIẤY CHỨNG NHẬN QUYỀN SỬ DỤNG ĐẤT" in cat.doc_type("land_certificate").titles
    assert cat.motto[0] == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"


def test_load_catalog_is_cached() -> None:
    assert load_catalog() is load_catalog()


def test_unknown_procedure_lists_known_ids() -> None:
    with pytest.raises(UnknownProcedure) as ei:
        load_catalog().procedure("birth_registraton")
    assert "birth_registration" in str(ei.value) and not ei.value.retryable
    with pytest.raises(CatalogError):
        load_catalog().doc_type("nope")


def _catalog_dict() -> dict:
    return json.loads(load_catalog().model_dump_json())


def test_catalog_rejects_unknown_reference_and_duplicates() -> None:
    d = _catalog_dict()
    d["procedures"][0]["requirements"][0]["any_of"] = ["no_such_type"]
    with pytest.raises(CatalogError, match="no_such_type"):
        parse_catalog(json.dumps(d))
    d = _catalog_dict()
    d["document_types"].append(d["document_types"][0])
    with pytest.raises(CatalogError, match="duplicate"):
        parse_catalog(json.dumps(d))
    d = _catalog_dict()
    d["procedures"][0]["requirements"].append(d["procedures"][0]["requirements"][0])
    with pytest.raises(CatalogError, match="duplicate"):
        parse_catalog(json.dumps(d))
    d = _catalog_dict()
    d["document_types"][0]["id"] = "unknown"
    with pytest.raises(CatalogError):
        parse_catalog(json.dumps(d))
    with pytest.raises(CatalogError):
        parse_catalog("{not json")


def test_catalog_is_frozen() -> None:
    cat = load_catalog()
    with pytest.raises(ValidationError):
        cat.version = "x"  # type: ignore[misc]
    assert isinstance(cat, Catalog)


MANIFEST = {
    "dossier_id": "HN-CG-2026-000123",
    "procedure": "birth_registration",
    "branch": "cau-giay",
    "facts": {"by_representative": False},
    "pages": ["001.tif", "002.tif"],
    "submitted_at": "2026-11-20T09:15:00+07:00",
}


def test_manifest_contract_example_parses_and_keeps_unknown_fields() -> None:
    m = parse_manifest(json.dumps({**MANIFEST, "station": "scanner-7"}).encode())
    assert m.facts == {"by_representative": False}
    assert m.pages == ["001.tif", "002.tif"]
    assert m.submitted_at is not None and str(m.submitted_at.utcoffset()) == "7:00:00"
    assert m.model_extra == {"station": "scanner-7"}
    minimal = parse_manifest(
        json.dumps({k: MANIFEST[k] for k in ("dossier_id", "procedure", "branch")})
    )
    assert minimal.pages is None and minimal.facts == {} and minimal.submitted_at is None


@pytest.mark.parametrize(
    "patch",
    [
        {"dossier_id": "../etc"},
        {"branch": "a/b"},
        {"pages": ["../x.tif"]},
        {"pages": ["a.tif", "a.tif"]},
        {"facts": {"by_representative": "maybe"}},
        {"procedure": None},
    ],
)
def test_manifest_rejects_bad_fields(patch: dict) -> None:
    with pytest.raises(ManifestError):
        parse_manifest(json.dumps({**MANIFEST, **patch}))


def test_manifest_rejects_non_json_and_non_object() -> None:
    with pytest.raises(ManifestError):
        parse_manifest(b"\xff\xfe")
    with pytest.raises(ManifestError):
        parse_manifest("[1, 2]")
    assert isinstance(Manifest.model_validate(MANIFEST), Manifest)


def _report(**kw: object) -> Report:
    base: dict = dict(
        dossier_id="HN-CG-2026-000123",
        procedure="birth_registration",
        branch="cau-giay",
        status="incomplete",
        pages=[
            ReportPage(source="001.tif", source_page=1, bundle_page=None, doc_type="blank",
                       confidence=1.0, ocr_confidence=0.0, blank=True),
            ReportPage(source="002.tif", source_page=1, bundle_page=1, doc_type="birth_reg_form",
                       confidence=0.97, ocr_confidence=91.2, rotation=0, skew=-2.1),
        ],
        documents=[ReportDocument(doc_type="birth_reg_form", bundle_pages=(1,), confidence=0.97)],
        checklist=[
            ReportChecklistItem(requirement="form", status="satisfied", documents=(0,)),
            ReportChecklistItem(requirement="birth_proof", status="missing"),
        ],
        missing=["birth_proof"],
        extras=[],
        bundle=ReportBundle(key="cau-giay/HN-CG-2026-000123/bundle.pdf", sha256="0" * 64,
                            pages=1, pdfa="2b", signed=True),
    )  # fmt: skip
    base.update(kw)
    return Report(**base)


def test_report_json_has_the_contract_shape() -> None:
    out = json.loads(_report().model_dump_json(indent=2))
    contract_keys = ["dossier_id", "procedure", "branch", "status", "pages", "documents",
                     "checklist", "missing", "extras", "bundle"]  # fmt: skip
    assert list(out)[: len(contract_keys)] == contract_keys
    page_keys = ["source", "source_page", "bundle_page", "doc_type", "confidence",
                 "ocr_confidence", "rotation", "skew", "blank"]  # fmt: skip
    assert list(out["pages"][0])[: len(page_keys)] == page_keys
    assert out["pages"][0]["bundle_page"] is None and out["pages"][0]["blank"] is True
    assert out["pages"][1]["bundle_page"] == 1
    assert out["documents"] == [
        {"doc_type": "birth_reg_form", "bundle_pages": [1], "confidence": 0.97}
    ]
    assert out["checklist"][1]["status"] == "missing" and out["checklist"][0]["documents"] == [0]
    assert out["missing"] == ["birth_proof"] and out["extras"] == []
    assert out["status"] == "incomplete"
    # the contract's keys, and the optional PAdES level added after it (B-B ... B-LTA)
    assert set(out["bundle"]) == {"key", "sha256", "pages", "pdfa", "signed", "signature"}
    assert Report.model_validate_json(_report().model_dump_json()) == _report()


def test_report_validates_statuses_indices_and_blank_pages() -> None:
    with pytest.raises(ValidationError):
        _report(status="done")
    with pytest.raises(ValidationError):
        _report(extras=[5])
    with pytest.raises(ValidationError):
        _report(status="rejected")  # needs a reason
    assert _report(status="rejected", reason="no readable page", bundle=None).bundle is None
    with pytest.raises(ValidationError):
        ReportPage(source="a", source_page=1, bundle_page=3, doc_type="blank", confidence=1,
                   ocr_confidence=0, blank=True)  # fmt: skip
    with pytest.raises(ValidationError):
        ReportChecklistItem.model_validate({"requirement": "form", "status": "present"})


def test_docs_catalog_and_the_shipped_catalog_name_the_same_ids() -> None:
    """docs/catalog.md (the specification carried in the repository) and
    models/catalog.json: every type and procedure of one is in the other."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "catalog.md").read_text("utf-8")
    types_part, procs_part = text.split("## Procedures")
    rows = re.compile(r"^\| ([a-z][a-z0-9_]*) \|", re.M)
    catalog = load_catalog()
    assert set(rows.findall(types_part)) - {"id"} == {t.id for t in catalog.document_types}
    assert set(rows.findall(procs_part)) - {"id"} == {p.id for p in catalog.procedures}
