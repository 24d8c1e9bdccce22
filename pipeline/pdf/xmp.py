"""XMP metadata packet for the bundle: PDF/A-2b identification, Dublin Core,
and the archive fields of Circular 05/2025/TT-BNV under the ``sohoa`` namespace,
declared with a PDF/A extension schema (ISO 19005-2, 6.6.2.3)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from xml.sax.saxutils import escape

from pipeline.pdf.metadata import ArchiveMetadata

SOHOA_NS = "https://sohoa.gov.vn/ns/archive/1.0/"
SOHOA_PREFIX = "sohoa"
NAMESPACES = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    SOHOA_PREFIX: SOHOA_NS,
    "pdfaExtension": "http://www.aiim.org/pdfa/ns/extension/",
    "pdfaSchema": "http://www.aiim.org/pdfa/ns/schema#",
    "pdfaProperty": "http://www.aiim.org/pdfa/ns/property#",
}


@dataclass(frozen=True)
class _Prop:
    name: str  # XMP property name in the sohoa namespace
    field: str  # ArchiveMetadata attribute
    value_type: str  # PDF/A extension schema value type
    description: str


ARCHIVE_PROPERTIES: tuple[_Prop, ...] = (
    _Prop("dossierCode", "dossier_code", "Text", "Mã hồ sơ (dossier code)"),
    _Prop("title", "title", "Text", "Tiêu đề hồ sơ (title)"),
    _Prop("retentionPeriod", "retention_period", "Text", "Thời hạn bảo quản (retention)"),
    _Prop("accessLevel", "access_level", "Text", "Chế độ sử dụng (access level)"),
    _Prop("language", "language", "Text", "Ngôn ngữ (language)"),
    _Prop("startDate", "start_date", "Date", "Thời gian bắt đầu (start date)"),
    _Prop("endDate", "end_date", "Date", "Thời gian kết thúc (end date)"),
    _Prop("keywords", "keywords", "bag Text", "Từ khóa (keywords)"),
    _Prop("documentCount", "document_count", "Integer", "Tổng số văn bản (documents)"),
    _Prop("sheetCount", "sheet_count", "Integer", "Số lượng tờ (sheets)"),
    _Prop("pageCount", "page_count", "Integer", "Số lượng trang (pages)"),
    _Prop("physicalCondition", "physical_condition", "Text", "Tình trạng vật lý"),
    _Prop("paperOriginalCode", "paper_original_code", "Text", "Mã hồ sơ giấy gốc"),
    _Prop("procedureId", "procedure_id", "Text", "Thủ tục hành chính (procedure id)"),
    _Prop("procedureCode", "procedure_code", "Text", "Mã thủ tục (procedure code)"),
    _Prop("branch", "branch", "Text", "Đơn vị số hóa (branch)"),
)
# Properties check_pdfa requires to be present.
REQUIRED_ARCHIVE_PROPERTIES = (
    "dossierCode", "title", "retentionPeriod", "accessLevel", "language", "pageCount",
)

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return escape(_XML_INVALID.sub("", value))


def xmp_date(value: datetime | date) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def _element(prefix_name: str, value: object) -> str | None:
    """One property element, or None for empty values."""
    if value is None or value == "" or value == ():
        return None
    if isinstance(value, tuple):
        items = "".join(f"<rdf:li>{_text(str(v))}</rdf:li>" for v in value)
        return f"<{prefix_name}><rdf:Bag>{items}</rdf:Bag></{prefix_name}>"
    if isinstance(value, date):
        return f"<{prefix_name}>{xmp_date(value)}</{prefix_name}>"
    return f"<{prefix_name}>{_text(str(value))}</{prefix_name}>"


def _extension_schema() -> str:
    props = "".join(
        '<rdf:li rdf:parseType="Resource">'
        f"<pdfaProperty:name>{p.name}</pdfaProperty:name>"
        f"<pdfaProperty:valueType>{p.value_type}</pdfaProperty:valueType>"
        "<pdfaProperty:category>external</pdfaProperty:category>"
        f"<pdfaProperty:description>{_text(p.description)}</pdfaProperty:description>"
        "</rdf:li>"
        for p in ARCHIVE_PROPERTIES
    )
    return (
        "<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType=\"Resource\">"
        "<pdfaSchema:schema>Siêu dữ liệu hồ sơ số hóa (Thông tư 05/2025/TT-BNV)"
        "</pdfaSchema:schema>"
        f"<pdfaSchema:namespaceURI>{SOHOA_NS}</pdfaSchema:namespaceURI>"
        f"<pdfaSchema:prefix>{SOHOA_PREFIX}</pdfaSchema:prefix>"
        f"<pdfaSchema:property><rdf:Seq>{props}</rdf:Seq></pdfaSchema:property>"
        "</rdf:li></rdf:Bag></pdfaExtension:schemas>"
    )


def keywords_text(keywords: Sequence[str]) -> str:
    return ", ".join(keywords)


def build_xmp(
    meta: ArchiveMetadata, *, created: datetime, producer: str, creator: str
) -> bytes:
    """The XMP packet (UTF-8). Values mirror the Info dictionary built beside it."""
    stamp = xmp_date(created)
    lines = [
        "<pdfaid:part>2</pdfaid:part>",
        "<pdfaid:conformance>B</pdfaid:conformance>",
        "<dc:format>application/pdf</dc:format>",
        "<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">"
        f"{_text(meta.title)}</rdf:li></rdf:Alt></dc:title>",
        f"<dc:creator><rdf:Seq><rdf:li>{_text(creator)}</rdf:li></rdf:Seq></dc:creator>",
        f"<dc:language><rdf:Bag><rdf:li>{_text(meta.language)}</rdf:li></rdf:Bag></dc:language>",
        f"<dc:identifier>{_text(meta.dossier_code)}</dc:identifier>",
        _element("dc:subject", tuple(meta.keywords)),
        _element("pdf:Keywords", keywords_text(meta.keywords)),
        f"<pdf:Producer>{_text(producer)}</pdf:Producer>",
        f"<xmp:CreatorTool>{_text(meta.creator_tool)}</xmp:CreatorTool>",
        f"<xmp:CreateDate>{stamp}</xmp:CreateDate>",
        f"<xmp:ModifyDate>{stamp}</xmp:ModifyDate>",
        f"<xmp:MetadataDate>{stamp}</xmp:MetadataDate>",
    ]
    for prop in ARCHIVE_PROPERTIES:
        lines.append(_element(f"{SOHOA_PREFIX}:{prop.name}", getattr(meta, prop.field)))
    lines.append(_extension_schema())
    ns_decl = "".join(
        f' xmlns:{p}="{uri}"' for p, uri in NAMESPACES.items() if p not in ("x", "rdf")
    )
    body = "\n".join(line for line in lines if line)
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        f'<rdf:RDF xmlns:rdf="{NAMESPACES["rdf"]}">\n'
        f'<rdf:Description rdf:about=""{ns_decl}>\n'
        f"{body}\n"
        "</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n"
        + (" " * 99 + "\n") * 20
        + '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")
