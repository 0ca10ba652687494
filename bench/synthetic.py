"""Synthetic graphs shaped like MedEdKG's data, at any size (streamed N-Triples).

Every synthetic resource lives under ``https://example.org/synthetic/`` and says
``dcterms:source <https://example.org/synthetic/source>``, so it can never be taken
for real data. The graph has the real data's shape: provinces with their government
bodies; medical education institutions of every kind; hospitals affiliated with them
(some also teaching hospitals); programmes that link an institution to a
second-level discipline, a programme kind and a real degree type; and a discipline
catalogue edition of categories → first-level → second-level disciplines (``skos:
broader``), with stated counts, so every competency query has work to do. It uses the
project's ontology and its four degree types, and it conforms to the project's SHACL
shapes. Literal identifiers follow the patterns the shapes require but cannot be
mistaken for real ones: MoE codes start with ``99`` (real ones start with ``4``), ROR
ids start with ``0zz`` and end in the check digits ``00``, which no valid ROR id has
(ISO 7064 mod 97-10 never gives 00).

Usage: ``python bench/synthetic.py 100k -o /tmp/synthetic-100k.nt``.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

SYN = "https://example.org/synthetic/"
ONT = "https://w3id.org/mededkg/ontology#"
DEGREE = "https://w3id.org/mededkg/id/degree-type/"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROV = "http://www.w3.org/ns/prov#"
SOURCE = "<http://purl.org/dc/terms/source>"
XSD = "http://www.w3.org/2001/XMLSchema#"
SYN_SOURCE = f"<{SYN}source>"

KINDS = (
    "MedicalUniversity",
    "TCMUniversity",
    "PharmacyCollege",
    "NursingCollege",
    "HealthVocationalCollege",
    "UniversityMedicalSchool",
)
PROGRAMME_KINDS = ("ClinicalMedicine", "BasicMedicine", "Pharmacy", "Nursing")
DEGREES = (
    "academic-master-of-medicine",
    "professional-master-of-medicine",
    "academic-doctor-of-medicine",
    "professional-doctor-of-medicine",
)
PROVINCES = 34
#: Triples per institution "unit": institution + 2 hospitals + 8 programmes, ≈ 110.
HOSPITALS_PER_INSTITUTION = 2
PROGRAMMES_PER_INSTITUTION = 8
_ROR_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000, "10M": 10_000_000}


def parse_size(text: str) -> int:
    """Parse ``10k``, ``1M`` or a plain number of triples.

    >>> parse_size("100k"), parse_size("1M"), parse_size("2500")
    (100000, 1000000, 2500)
    """
    if text in SIZES:
        return SIZES[text]
    units = {"k": 1_000, "K": 1_000, "M": 1_000_000, "G": 1_000_000_000}
    if text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def _iri(path: str) -> str:
    return f"<{SYN}{path}>"


def _lit(text: str, lang: str = "", datatype: str = "") -> str:
    if lang:
        return f'"{text}"@{lang}'
    if datatype:
        return f'"{text}"^^<{XSD}{datatype}>'
    return f'"{text}"'


def _ror(n: int) -> str:
    """A ROR-shaped id that is not a ROR id (prefix 0zz, check digits 00).

    >>> _ror(0), _ror(33)
    ('0zz000000', '0zz000110')
    """
    chars = []
    for _ in range(4):
        n, digit = divmod(n, 32)
        chars.append(_ROR_ALPHABET[digit])
    return "0zz" + "".join(reversed(chars)) + "00"


def _disciplines(count: int) -> tuple[list[str], Iterator[str]]:
    """The catalogue edition: returns the second-level IRIs and the triples."""
    second: list[str] = []
    firsts_per_category, seconds_per_first = 10, 10
    categories = max(1, -(-count // (firsts_per_category * seconds_per_first)))
    categories = min(categories, 89)
    seconds_per_first = max(1, min(99, -(-count // (categories * firsts_per_category))))

    def lines() -> Iterator[str]:
        edition = _iri("catalogue/synthetic")
        skos_scheme = f"<{SKOS}ConceptScheme>"
        yield f"{edition} {RDF_TYPE} <{ONT}CatalogueEdition> ."
        yield f"{edition} {RDF_TYPE} {skos_scheme} ."
        yield f"{edition} <{SKOS}prefLabel> {_lit('合成学科目录', 'zh')} ."
        yield f"{edition} <{SKOS}prefLabel> {_lit('Synthetic catalogue', 'en')} ."
        yield f"{edition} <{SKOS}notation> {_lit('9999')} ."
        yield f"{edition} {SOURCE} {SYN_SOURCE} ."
        totals = {
            "DisciplineCategory": categories,
            "FirstLevelDiscipline": categories * firsts_per_category,
            "SecondLevelDiscipline": len(second),
        }
        for level, stated in totals.items():
            count_iri = _iri(f"catalogue/synthetic/stated/{level}")
            yield f"{count_iri} {RDF_TYPE} <{ONT}StatedCount> ."
            yield f"{count_iri} <{SKOS}prefLabel> {_lit(level, 'en')} ."
            yield f"{count_iri} <{ONT}countQualifier> {_lit('exactly')} ."
            yield f"{count_iri} <{ONT}countsLevel> <{ONT}{level}> ."
            yield f"{count_iri} <{ONT}edition> {edition} ."
            number = _lit(str(stated), datatype="integer")
            yield f"{count_iri} <{ONT}statedCount> {number} ."
            yield f"{count_iri} {SOURCE} {SYN_SOURCE} ."

    def concept(code: str, level: str, broader: str | None) -> Iterator[str]:
        node = _iri(f"discipline/{code}")
        yield f"{node} {RDF_TYPE} <{ONT}{level}> ."
        yield f"{node} <{SKOS}notation> {_lit(code)} ."
        yield f"{node} <{SKOS}prefLabel> {_lit(f'合成学科 {code}', 'zh')} ."
        yield f"{node} <{SKOS}prefLabel> {_lit(f'Synthetic discipline {code}', 'en')} ."
        yield f"{node} <{SKOS}inScheme> {_iri('catalogue/synthetic')} ."
        yield f"{node} {SOURCE} {SYN_SOURCE} ."
        if broader:
            yield f"{node} <{SKOS}broader> {_iri(f'discipline/{broader}')} ."

    concepts: list[str] = []
    for c in range(categories):
        cat = f"{10 + c:02d}"
        concepts += concept(cat, "DisciplineCategory", None)
        for f in range(firsts_per_category):
            first = f"{cat}{f + 1:02d}"
            concepts += concept(first, "FirstLevelDiscipline", cat)
            for s in range(seconds_per_first):
                code = f"{first}{s + 1:02d}"
                second.append(_iri(f"discipline/{code}"))
                concepts += concept(code, "SecondLevelDiscipline", first)

    def everything() -> Iterator[str]:
        yield from concepts
        yield from lines()

    return second, everything()


def generate(triples: int, *, seed: int = 0) -> Iterator[str]:
    """Yield about *triples* N-Triples lines (never more than 1% over).

    The catalogue gets about 1% of the triples; the rest are institution units
    (institution, its hospitals and programmes), each about 110 triples.
    """
    rng = random.Random(seed)
    emitted = 0
    second, catalogue = _disciplines(max(100, triples // 700))
    for line in catalogue:
        emitted += 1
        yield line
    provinces = []
    for p in range(PROVINCES):
        body = _iri(f"govbody/province-{p}")
        provinces.append((f"合成省{p}", body))
        yield f"{body} {RDF_TYPE} <{ONT}GovernmentBody> ."
        yield f"{body} {LABEL} {_lit(f'合成省{p}教育厅', 'zh')} ."
        yield f"{body} {SOURCE} {SYN_SOURCE} ."
        emitted += 3
    i = 0
    hospital = 0
    while emitted < triples:
        unit: list[str] = []
        inst = _iri(f"institution/{i}")
        province, body = provinces[i % PROVINCES]
        unit += [
            f"{inst} {RDF_TYPE} <{ONT}{KINDS[i % len(KINDS)]}> .",
            f"{inst} {LABEL} {_lit(f'合成医学院{i}', 'zh')} .",
            f"{inst} {LABEL} {_lit(f'Synthetic medical school {i}', 'en')} .",
            f"{inst} <{ONT}moeCode> {_lit(f'99{i:08d}')} .",
            f"{inst} <{ONT}province> {_lit(province, 'zh')} .",
            f"{inst} <{ONT}city> {_lit(f'{province}市{i % 7}', 'zh')} .",
            f"{inst} <{ONT}educationLevel> {_lit('本科')} .",
            f"{inst} <{ONT}supervisingAuthority> {body} .",
            f"{inst} {SOURCE} {SYN_SOURCE} .",
        ]
        if KINDS[i % len(KINDS)] != "UniversityMedicalSchool":
            # on the MOE-like list, as the real list's institutions are
            unit += [
                f"{inst} {RDF_TYPE} <{ONT}HigherEducationInstitution> .",
                f"{inst} <{PROV}wasDerivedFrom> {_iri(f'moe-list/row/{i}')} .",
            ]
        else:
            # a unit of a university that ROR names: part of the medical university
            # generated five before it, a ROR-shaped id beyond the hospitals' range
            unit += [
                f"{inst} <{ONT}partOf> {_iri(f'institution/{i - 5}')} .",
                f"{inst} <{ONT}rorId> {_lit(_ror(600_000 + i))} .",
            ]
        # every claim carries its evidence, as the real data's do (the shapes ask it)
        evidence = _iri(f"evidence/{i}")
        unit += [
            f"{inst} <{ONT}medicalEducationEvidence> {evidence} .",
            f"{evidence} {RDF_TYPE} <{ONT}Evidence> .",
            f"{evidence} <{ONT}evidenceRule> <{ONT}MedicalNameRule> .",
            f"{evidence} <{PROV}wasDerivedFrom> {SYN_SOURCE} .",
            f"{evidence} <{SKOS}note> {_lit(f'name {i} names medicine', 'en')} .",
            f"{evidence} {SOURCE} {SYN_SOURCE} .",
        ]
        for _ in range(HOSPITALS_PER_INSTITUTION):
            h = _iri(f"hospital/{hospital}")
            unit += [
                f"{h} {RDF_TYPE} <{ONT}Hospital> .",
                f"{h} {LABEL} {_lit(f'合成医院{hospital}', 'zh')} .",
                f"{h} {LABEL} {_lit(f'Synthetic hospital {hospital}', 'en')} .",
                f"{h} <{ONT}rorId> {_lit(_ror(hospital))} .",
                f"{h} <{ONT}affiliatedWith> {inst} .",
                f"{h} {SOURCE} {SYN_SOURCE} .",
            ]
            if hospital % 3 == 0:
                unit.append(f"{h} <{ONT}teachingHospitalOf> {inst} .")
            hospital += 1
        for k in range(PROGRAMMES_PER_INSTITUTION):
            prog = _iri(f"programme/{i}-{k}")
            degree = DEGREES[rng.randrange(len(DEGREES))]
            year = _lit(str(2000 + rng.randrange(25)), datatype="gYear")
            unit += [
                f"{prog} {RDF_TYPE} <{ONT}Programme> .",
                f"{prog} {LABEL} {_lit(f'Synthetic programme {i}-{k}', 'en')} .",
                f"{prog} <{ONT}offeredBy> {inst} .",
                f"{prog} <{ONT}programmeKind> <{ONT}{PROGRAMME_KINDS[k % 4]}> .",
                f"{prog} <{ONT}inDiscipline> {second[rng.randrange(len(second))]} .",
                f"{prog} <{ONT}awardsDegree> <{DEGREE}{degree}> .",
                f"{prog} <{ONT}startYear> {year} .",
                f"{prog} {SOURCE} {SYN_SOURCE} .",
            ]
        for line in unit:
            yield line
        emitted += len(unit)
        i += 1


def write(triples: int, out: TextIO, *, seed: int = 0) -> int:
    """Write about *triples* synthetic triples to *out*; return how many."""
    count = 0
    for line in generate(triples, seed=seed):
        out.write(line)
        out.write("\n")
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    """Command line: write one synthetic graph as N-Triples."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", help="triples: 10k, 100k, 1M, 10M or a number")
    parser.add_argument("-o", "--output", type=Path, help="file (default: stdout)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.output:
        with args.output.open("w", encoding="utf-8") as out:
            count = write(parse_size(args.size), out, seed=args.seed)
    else:
        count = write(parse_size(args.size), sys.stdout, seed=args.seed)
    print(f"{count} triples", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
