"""Time and bytes each PAdES level adds to a bundle, against the test PKI of
tests/pki.py (certomancer's CA, OCSP, CRLs, timestamp authority on 127.0.0.1).

    .venv/bin/python bench/bench_signing.py [--bundle out/birth-complete/bundle.pdf] [--runs 5]

Signs the given bundle (default: a 2-page generated one) at B-B, B-T, B-LT and
B-LTA, then renews the B-LTA one; prints medians. A real authority and CA add
their network round trips to the B-T (one request), B-LT (OCSP/CRL requests) and
B-LTA (one more request) figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.sign import SignMeta, load_signer, load_trust_roots, sign_pdf  # noqa: E402
from pipeline.sign.archival import Archival, Authority, renew  # noqa: E402
from tests.pki import ORGANISATION, serve_pki  # noqa: E402


def two_pages() -> bytes:
    from tests.test_pdf_conformance import bundle

    return bundle.__wrapped__()  # type: ignore[attr-defined]


def show(name: str, times: list[float], sizes: list[int]) -> None:
    print(f"{name:<6} {statistics.median(times):6.2f} s  +{statistics.median(sizes):>7,.0f} B")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    pdf = args.bundle.read_bytes() if args.bundle else two_pages()
    with serve_pki(Path(tempfile.mkdtemp())) as pki:
        signer = load_signer(pki.signer_p12(), b"test")
        roots = tuple(load_trust_roots([pki.root_pem]))
        meta = SignMeta(organisation=ORGANISATION)
        print(f"bundle {len(pdf)} bytes; {args.runs} runs; median time, bytes added")
        last = b""
        for level in ("B-B", "B-T", "B-LT", "B-LTA"):
            archival = None if level == "B-B" else Archival(level, Authority(pki.tsa_url), roots)
            times, sizes = [], []
            for _ in range(args.runs):
                t = time.perf_counter()
                last = sign_pdf(pdf, signer=signer, meta=meta, archival=archival)
                times.append(time.perf_counter() - t)
                sizes.append(len(last) - len(pdf))
            show(level, times, sizes)
        times, sizes = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            renewed = renew(last, archival=Archival("B-LTA", Authority(pki.tsa_url), roots))
            times.append(time.perf_counter() - t)
            sizes.append(len(renewed) - len(last))
        show("renew", times, sizes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
