"""Benchmark of the X12 835 reader: parse rate against pyx12's document parse and str.split.

The input is a large 835 built from a real sample: its claims repeated with new
claim ids inside one envelope, with BPR02 and SE01 recomputed so it stays valid.
"""

from __future__ import annotations

import io
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import Figure, at_least
from ona_ledger.claims.era import parse_835
from ona_ledger.claims.era_balance import find_imbalances
from ona_ledger.money import Money

logger = logging.getLogger(__name__)

SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "data"
    / "x12"
    / "835"
    / "e8p-united_healthcare_legacy_sample.835"
)
CLAIMS_FULL = 2_000
CLAIMS_QUICK = 400
REPEATS_FULL = 5
REPEATS_QUICK = 2


def build_large_835(claim_count: int, sample: Path = SAMPLE) -> str:
    """Return an 835 with `claim_count` claims made by renumbering the sample's claims.

    The sample must have an ISA envelope, one ST set and one LX. Claim ids get a
    running suffix so each claim is distinct; amounts stay those of the sample.
    """
    text = sample.read_text(encoding="utf-8").replace("\r", "").replace("\n", "")
    terminator = text[105]
    element = text[3]
    segments = [segment for segment in text.split(terminator) if segment]
    first_claim = next(
        i for i, s in enumerate(segments) if s.startswith("CLP" + element)
    )
    trailer = next(i for i, s in enumerate(segments) if s.startswith("SE" + element))
    header = segments[:first_claim]
    claims = _split_claims(segments[first_claim:trailer], element)
    envelope_end = segments[trailer + 1 :]

    body: list[str] = []
    paid = Money(0)
    for number in range(claim_count):
        claim = claims[number % len(claims)]
        fields = claim[0].split(element)
        fields[1] = f"{fields[1]}-{number:07d}"
        paid = paid + Money.of(fields[4])
        body.append(element.join(fields))
        body.extend(claim[1:])

    header = list(header)
    bpr_index = next(i for i, s in enumerate(header) if s.startswith("BPR" + element))
    bpr = header[bpr_index].split(element)
    bpr[2] = str(paid)
    header[bpr_index] = element.join(bpr)
    st_index = next(i for i, s in enumerate(header) if s.startswith("ST" + element))
    control_number = header[st_index].split(element)[2]
    segment_count = len(header) - st_index + len(body) + 1
    trailer_segment = f"SE{element}{segment_count}{element}{control_number}"
    return (
        terminator.join([*header, *body, trailer_segment, *envelope_end]) + terminator
    )


def _split_claims(segments: list[str], element: str) -> list[list[str]]:
    claims: list[list[str]] = []
    for segment in segments:
        if segment.startswith("CLP" + element):
            claims.append([segment])
        elif claims:
            claims[-1].append(segment)
    return claims


def split_segments(text: str) -> list[list[str]]:
    """Split the file into segments and elements, the least any reader must do."""
    element = text[3]
    terminator = text[105]
    return [segment.split(element) for segment in text.split(terminator)]


def pyx12_parse(text: str) -> None:
    """Parse the file with pyx12's x12n_document, its reader that walks the 835 map.

    This is pyx12's parse of a whole document (loops, segments and elements
    checked against the 005010X221A1 map), which the figure compares with
    ours; its 997 and log output are discarded.
    """
    import pyx12.params  # test dependencies, imported only when measured
    import pyx12.x12n_document

    pyx12_logger = logging.getLogger("pyx12")
    level = pyx12_logger.level
    pyx12_logger.setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "large.835"
        path.write_text(text, encoding="utf-8")
        try:
            pyx12.x12n_document.x12n_document(
                pyx12.params.params(), str(path), io.StringIO(), None, None, None
            )
        finally:
            pyx12_logger.setLevel(level)


def _best_rate_mb_s(
    action: Callable[[], object], size_mb: float, repeats: int
) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return size_mb / best


def run(quick: bool) -> list[Figure]:
    """Measure the 835 parse rate against pyx12 and against a bare str.split."""
    claim_count = CLAIMS_QUICK if quick else CLAIMS_FULL
    repeats = REPEATS_QUICK if quick else REPEATS_FULL
    text = build_large_835(claim_count)
    size_mb = len(text.encode("utf-8")) / 1_000_000

    parsed = parse_835(text)
    if find_imbalances(parsed.remittances[0]):
        raise AssertionError(
            "the generated 835 does not balance; build_large_835 is wrong"
        )

    ours = _best_rate_mb_s(lambda: parse_835(text), size_mb, repeats)
    split = _best_rate_mb_s(lambda: split_segments(text), size_mb, repeats)
    pyx12 = _best_rate_mb_s(lambda: pyx12_parse(text), size_mb, 1)
    logger.info(
        "835 of %d claims, %.2f MB: ours %.1f MB/s, str.split %.1f MB/s, pyx12 %.2f MB/s",
        claim_count,
        size_mb,
        ours,
        split,
        pyx12,
    )
    common = (
        f"{claim_count} claims, {size_mb:.2f} MB, best of {repeats}; ours {ours:.1f} MB/s. "
        "The claims repeat, so the reader's caches of parsed amounts and dates hit "
        "more often than on a real file"
    )
    return [
        at_least(
            "era_parse_vs_pyx12",
            ours / pyx12,
            "x",
            30,
            f"{common}; pyx12 4.0.0 x12n_document parsing the same file "
            f"{pyx12:.3f} MB/s (one run)",
        ),
        at_least(
            "era_parse_vs_split",
            ours / split,
            "x",
            0.25,
            f"{common}; str.split into segments and elements {split:.1f} MB/s",
        ),
    ]
