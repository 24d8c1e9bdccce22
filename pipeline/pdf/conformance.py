"""PDF/A-2b inspection of a bundle (used by ``sohoa verify``).

Reads the final revision, so it works on a bundle with incremental updates
appended (e.g. after signing). This is a focused self-check of the rules the
bundle relies on, not a full ISO 19005 validator.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pikepdf
from pikepdf import Name

from pipeline.pdf.xmp import NAMESPACES, REQUIRED_ARCHIVE_PROPERTIES, SOHOA_NS


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class PdfaReport:
    ok: bool
    checks: tuple[Check, ...]

    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


_RDF = "{" + NAMESPACES["rdf"] + "}"
XmpProps = dict[str, list[str]]


def _qn(prefix: str, local: str) -> str:
    return "{" + NAMESPACES[prefix] + "}" + local


def _element_values(elem: ET.Element) -> list[str]:
    for container in ("Alt", "Seq", "Bag"):
        found = elem.find(_RDF + container)
        if found is not None:
            return [(li.text or "").strip() for li in found.findall(_RDF + "li")]
    return [(elem.text or "").strip()]


def parse_xmp(data: bytes) -> XmpProps:
    """Top-level XMP properties, keyed '{namespace}name', values as lists of text."""
    root = ET.fromstring(data)
    rdf = root if root.tag == _RDF + "RDF" else root.find(_RDF + "RDF")
    props: XmpProps = {}
    if rdf is None:
        return props
    for desc in rdf.findall(_RDF + "Description"):
        for key, value in desc.attrib.items():
            if not key.startswith(_RDF):
                props[key] = [value.strip()]
        for child in desc:
            props[child.tag] = _element_values(child)
    return props


_PDF_DATE = re.compile(
    r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?'?"
)


def parse_pdf_date(text: str) -> datetime | None:
    m = _PDF_DATE.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, sign, oh, om = m.groups()
    tz = None
    if sign in ("Z", "z"):
        tz = UTC
    elif sign:
        delta = timedelta(hours=int(oh or 0), minutes=int(om or 0))
        tz = timezone(delta if sign == "+" else -delta)
    return datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0),
                    int(s or 0), tzinfo=tz)


def parse_xmp_date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


# --- individual checks --------------------------------------------------------
def _check_header(data: bytes) -> Check:
    lines = data[:64].split(b"\n", 2)
    version_ok = data.startswith(b"%PDF-1.") or data.startswith(b"%PDF-2.")
    binary_ok = (len(lines) > 1 and lines[1].startswith(b"%")
                 and sum(b > 127 for b in lines[1][1:5]) == 4)
    ok = version_ok and binary_ok
    return Check("file_header", ok, data[:8].decode("latin-1", "replace").strip()
                 + ("" if binary_ok else "; binary comment line missing"))


def _check_identification(xmp: XmpProps | None) -> Check:
    if xmp is None:
        return Check("pdfa_identification", False, "no XMP metadata stream")
    part = xmp.get(_qn("pdfaid", "part"), [""])[0]
    conf = xmp.get(_qn("pdfaid", "conformance"), [""])[0]
    ok = part == "2" and conf.upper() in ("B", "U")
    return Check("pdfa_identification", ok, f"pdfaid:part={part or '-'} "
                 f"conformance={conf or '-'}")


def _check_output_intent(pdf: pikepdf.Pdf) -> Check:
    intents = pdf.Root.get("/OutputIntents")
    if not isinstance(intents, pikepdf.Array):
        return Check("output_intent", False, "no /OutputIntents")
    for intent in intents:
        if intent.get("/S") != Name.GTS_PDFA1:
            continue
        profile = intent.get("/DestOutputProfile")
        if not isinstance(profile, pikepdf.Stream):
            return Check("output_intent", False, "GTS_PDFA1 intent without an ICC profile")
        icc = profile.read_bytes()
        if len(icc) < 128 or icc[36:40] != b"acsp":
            return Check("output_intent", False, "DestOutputProfile is not an ICC profile")
        colour = icc[16:20].decode("latin-1").strip()
        n = int(profile.get("/N", 0))
        expected = {"RGB": 3, "GRAY": 1, "CMYK": 4}.get(colour)
        if expected != n:
            return Check("output_intent", False, f"ICC colour space {colour} but /N {n}")
        return Check("output_intent", True, f"GTS_PDFA1, ICC {colour} v{icc[8]}")
    return Check("output_intent", False, "no GTS_PDFA1 output intent")


def _resources(page: pikepdf.Object) -> pikepdf.Object | None:
    """A page's /Resources, inherited from the page tree when absent."""
    node: pikepdf.Object | None = page
    for _ in range(64):
        if node is None:
            return None
        res = node.get("/Resources")
        if isinstance(res, pikepdf.Dictionary):
            return res
        node = node.get("/Parent")
    return None


def _appearance_streams(page: pikepdf.Object) -> Iterator[pikepdf.Object]:
    annots = page.get("/Annots")
    if not isinstance(annots, pikepdf.Array):
        return
    for annot in annots:
        ap = annot.get("/AP") if isinstance(annot, pikepdf.Dictionary) else None
        if not isinstance(ap, pikepdf.Dictionary):
            continue
        for key in ("/N", "/R", "/D"):
            entry = ap.get(key)
            if isinstance(entry, pikepdf.Stream):
                yield entry
            elif isinstance(entry, pikepdf.Dictionary):
                yield from (v for v in entry.values() if isinstance(v, pikepdf.Stream))


def _fonts_in(resources: pikepdf.Object | None, seen: set[tuple[int, int]]
              ) -> Iterator[pikepdf.Object]:
    """Fonts of a resource dictionary and, recursively, of its form XObjects."""
    if not isinstance(resources, pikepdf.Dictionary):
        return
    fonts = resources.get("/Font")
    if isinstance(fonts, pikepdf.Dictionary):
        yield from fonts.values()
    xobjects = resources.get("/XObject")
    if not isinstance(xobjects, pikepdf.Dictionary):
        return
    for xobj in xobjects.values():
        if not isinstance(xobj, pikepdf.Stream) or xobj.get("/Subtype") != Name.Form:
            continue
        if xobj.is_indirect:
            if xobj.objgen in seen:
                continue
            seen.add(xobj.objgen)
        yield from _fonts_in(xobj.get("/Resources"), seen)


def _font_embedded(font: pikepdf.Object) -> bool:
    if font.get("/Subtype") == Name.Type3:
        return True
    target = font
    if font.get("/Subtype") == Name.Type0:
        descendants = font.get("/DescendantFonts")
        if not isinstance(descendants, pikepdf.Array) or len(descendants) == 0:
            return False
        target = descendants[0]
    descriptor = target.get("/FontDescriptor")
    return isinstance(descriptor, pikepdf.Dictionary) and any(
        key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
    )


def _check_fonts(pdf: pikepdf.Pdf) -> Check:
    seen: set[tuple[int, int]] = set()
    count = 0
    missing: set[str] = set()
    for page in pdf.pages:
        sources = [_resources(page.obj)]
        sources += [ap.get("/Resources") for ap in _appearance_streams(page.obj)]
        for res in sources:
            for font in _fonts_in(res, seen):
                if not isinstance(font, pikepdf.Dictionary):
                    continue
                count += 1
                if not _font_embedded(font):
                    missing.add(str(font.get("/BaseFont", "?")))
    if missing:
        return Check("fonts_embedded", False, "not embedded: " + ", ".join(sorted(missing)))
    return Check("fonts_embedded", True, f"{count} font use(s), all embedded")


def declared_schemas(data: bytes) -> set[str]:
    """Namespace URIs declared by PDF/A extension schemas in an XMP packet."""
    root = ET.fromstring(data)
    uris: set[str] = set()
    for elem in root.iter(_qn("pdfaSchema", "namespaceURI")):
        uris.add((elem.text or elem.get(_RDF + "resource") or "").strip())
    for elem in root.iter(_RDF + "Description"):  # attribute form of the property
        value = elem.get(_qn("pdfaSchema", "namespaceURI"))
        if value:
            uris.add(value.strip())
    return uris


def _check_archive(xmp: XmpProps | None, declared: set[str], page_count: int) -> Check:
    if xmp is None:
        return Check("archive_metadata", False, "no XMP metadata stream")
    absent = [p for p in REQUIRED_ARCHIVE_PROPERTIES
              if not any(xmp.get("{" + SOHOA_NS + "}" + p, [""]))]
    if absent:
        return Check("archive_metadata", False, "missing: " + ", ".join(absent))
    if SOHOA_NS not in declared:
        return Check("archive_metadata", False, "sohoa namespace not declared "
                     "in a PDF/A extension schema")
    stated = xmp["{" + SOHOA_NS + "}pageCount"][0]
    if stated != str(page_count):
        return Check("archive_metadata", False, f"pageCount {stated} but {page_count} pages")
    return Check("archive_metadata", True, f"{len(REQUIRED_ARCHIVE_PROPERTIES)} required "
                 "fields present")


_INFO_TO_XMP = (
    ("/Title", "dc", "title"),
    ("/Author", "dc", "creator"),
    ("/Creator", "xmp", "CreatorTool"),
    ("/Producer", "pdf", "Producer"),
    ("/Keywords", "pdf", "Keywords"),
)
_INFO_DATES = (("/CreationDate", "CreateDate"), ("/ModDate", "ModifyDate"))


def _check_consistency(pdf: pikepdf.Pdf, xmp: XmpProps | None) -> Check:
    info = pdf.trailer.get("/Info")
    if not isinstance(info, pikepdf.Dictionary):
        return Check("metadata_consistency", True, "no Info dictionary")
    if xmp is None:
        return Check("metadata_consistency", False, "Info dictionary without XMP")
    bad: list[str] = []
    for key, prefix, local in _INFO_TO_XMP:
        if key in info:
            values = xmp.get(_qn(prefix, local))
            if values is None or ", ".join(values) != str(info[key]):
                bad.append(key[1:])
    for key, local in _INFO_DATES:
        if key in info:
            values = xmp.get(_qn("xmp", local))
            left = parse_pdf_date(str(info[key]))
            right = parse_xmp_date(values[0]) if values else None
            if left is None or right is None or left != right:
                bad.append(key[1:])
    if bad:
        return Check("metadata_consistency", False, "Info/XMP differ: " + ", ".join(bad))
    return Check("metadata_consistency", True, "Info and XMP agree")


def _dicts(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Object]:
    """Every dictionary and stream of the final revision, direct ones included."""
    for top in pdf.objects:
        stack = [top]
        while stack:
            obj = stack.pop()
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                yield obj
                children = list(obj.values())
            elif isinstance(obj, pikepdf.Array):
                children = list(obj)
            else:
                continue
            stack.extend(c for c in children
                         if isinstance(c, pikepdf.Object) and not c.is_indirect)


def _has_filter(obj: pikepdf.Object, name: pikepdf.Name) -> bool:
    filt = obj.get("/Filter")
    if isinstance(filt, pikepdf.Array):
        return any(f == name for f in filt)
    return filt == name


def _scan(pdf: pikepdf.Pdf) -> tuple[list[str], list[str], list[str]]:
    """Objects using JavaScript, transparency and LZW (final revision only)."""
    js: list[str] = []
    alpha: list[str] = []
    lzw: list[str] = []
    names = pdf.Root.get("/Names")
    if isinstance(names, pikepdf.Dictionary) and "/JavaScript" in names:
        js.append("catalog /Names /JavaScript")
    for obj in _dicts(pdf):
        ref = f"object {obj.objgen[0]}"
        if "/JS" in obj or obj.get("/S") == Name.JavaScript:
            js.append(ref)
        smask = obj.get("/SMask")
        if smask is not None and smask != Name("/None"):
            alpha.append(ref + " /SMask")
        group = obj.get("/Group")
        if isinstance(group, pikepdf.Dictionary) and group.get("/S") == Name.Transparency:
            alpha.append(ref + " transparency group")
        for key in ("/CA", "/ca"):
            value = obj.get(key)
            if value is not None and _lt_one(value):
                alpha.append(f"{ref} {key}<1")
        blend = obj.get("/BM")
        if blend is not None and blend not in (Name.Normal, Name.Compatible):
            alpha.append(ref + " blend mode")
        if isinstance(obj, pikepdf.Stream) and _has_filter(obj, Name.LZWDecode):
            lzw.append(ref)
    return js, alpha, lzw


def _lt_one(value: object) -> bool:
    try:
        return float(value) < 1.0  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _listing(items: list[str]) -> str:
    return ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")


def _scan_checks(pdf: pikepdf.Pdf) -> list[Check]:
    js, alpha, lzw = _scan(pdf)
    return [
        Check("no_javascript", not js, _listing(js) or "none"),
        Check("no_transparency", not alpha, _listing(alpha) or "none"),
        Check("no_lzw", not lzw, _listing(lzw) or "none"),
    ]


def _check_trailer_id(pdf: pikepdf.Pdf) -> Check:
    ident = pdf.trailer.get("/ID")
    ok = isinstance(ident, pikepdf.Array) and len(ident) == 2
    return Check("trailer_id", ok, "present" if ok else "trailer /ID missing")


def _read_xmp(pdf: pikepdf.Pdf) -> tuple[XmpProps | None, set[str], str]:
    stream = pdf.Root.get("/Metadata")
    if not isinstance(stream, pikepdf.Stream):
        return None, set(), "no XMP metadata stream"
    try:
        data = stream.read_bytes()
        return parse_xmp(data), declared_schemas(data), ""
    except ET.ParseError as exc:
        return None, set(), f"XMP is not well-formed XML: {exc}"


def _unreadable(name: str, detail: str) -> PdfaReport:
    return PdfaReport(False, (Check("readable", False, detail), Check(name, False, detail)))


def check_pdfa(pdf: bytes) -> PdfaReport:
    """Check a bundle (its final revision) against the PDF/A-2b rules the bundle uses."""
    try:
        doc = pikepdf.open(io.BytesIO(pdf))
    except pikepdf.PasswordError:
        return _unreadable("no_encryption", "encrypted with a user password")
    except pikepdf.PdfError as exc:
        return _unreadable("pdf_syntax", f"not a readable PDF: {exc}")
    with doc:
        xmp, declared, xmp_problem = _read_xmp(doc)
        checks = [
            Check("readable", True, f"PDF {doc.pdf_version}, {len(doc.pages)} page(s)"),
            _check_header(pdf),
            _check_trailer_id(doc),
            Check("no_encryption", not doc.is_encrypted,
                  "encrypted" if doc.is_encrypted else "not encrypted"),
            _check_identification(xmp),
            _check_output_intent(doc),
            _check_fonts(doc),
            _check_archive(xmp, declared, len(doc.pages)),
            _check_consistency(doc, xmp),
            *_scan_checks(doc),
        ]
        if xmp_problem and "/Metadata" in doc.Root:
            checks.append(Check("xmp_syntax", False, xmp_problem))
    return PdfaReport(all(c.ok for c in checks), tuple(checks))
