"""A fast OWL 2 RL engine: rules compiled from the ontology, evaluated semi-naively.

owlrl (the reference engine) applies every OWL 2 RL rule to every triple on each
round until nothing changes, which costs about 2,300 triples a second. This engine
first reads the schema (the *T-box*: ``rdfs:subClassOf``, ``owl:inverseOf``,
restrictions …) and closes it once; then it turns each property and each class into
the short list of rules that can fire for it, and pushes every triple through its
rules exactly once (semi-naive evaluation: a triple joins only with what is already
known, and each new triple is queued). Triples whose predicate the schema never
mentions (labels, codes, sources) are not even indexed.

Rules (names from the OWL 2 RL profile, section 4.3): ``cax-sco``, ``cax-eqc1/2``,
``prp-dom``, ``prp-rng``, ``prp-spo1``, ``prp-spo2`` (property chains of any length),
``prp-eqp1/2``, ``prp-inv1/2``, ``prp-symp``, ``prp-trp``, ``prp-fp``, ``prp-ifp``,
``cls-hv1/2``, ``cls-svf1/2``, ``cls-avf``, ``cls-int1/2``, ``cls-uni``, ``eq-sym``,
``eq-trans``, ``eq-rep-s/p/o``, and the schema rules ``scm-sco``, ``scm-eqc1/2``,
``scm-spo``, ``scm-eqp1/2``, ``scm-dom1/2``, ``scm-rng1/2``, ``scm-int``,
``scm-uni``, ``scm-hv``, ``scm-svf1/2``, ``scm-avf1/2``. What it leaves out (the
consistency checks, cardinality and keys, datatype rules) is listed in
``docs/reasoning.md``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from rdflib import OWL, RDF, RDFS, Literal
from rdflib.term import Node

Triple = tuple[Node, Node, Node]

TYPE = RDF.type
SAME_AS = OWL.sameAs
_SCHEMA_PREDICATES = frozenset(
    {
        RDFS.subClassOf,
        RDFS.subPropertyOf,
        RDFS.domain,
        RDFS.range,
        OWL.equivalentClass,
        OWL.equivalentProperty,
        OWL.inverseOf,
        OWL.onProperty,
        OWL.hasValue,
        OWL.someValuesFrom,
        OWL.allValuesFrom,
        OWL.intersectionOf,
        OWL.unionOf,
        OWL.propertyChainAxiom,
        RDF.first,
        RDF.rest,
    }
)


@dataclass
class Schema:
    """The closed T-box, arranged by the term that triggers each rule."""

    #: class → its strict superclasses (closed; equivalents included)
    superclasses: dict[Node, set[Node]] = field(default_factory=dict)
    #: property → its strict superproperties (closed)
    superproperties: dict[Node, set[Node]] = field(default_factory=dict)
    domains: dict[Node, set[Node]] = field(default_factory=dict)
    ranges: dict[Node, set[Node]] = field(default_factory=dict)
    inverses: dict[Node, set[Node]] = field(default_factory=dict)
    symmetric: set[Node] = field(default_factory=set)
    transitive: set[Node] = field(default_factory=set)
    functional: set[Node] = field(default_factory=set)
    inverse_functional: set[Node] = field(default_factory=set)
    #: property → [(chain head property, the chain, position of the property)]
    chains: dict[Node, list[tuple[Node, tuple[Node, ...], int]]] = field(
        default_factory=dict
    )
    #: restriction class → [(property, value)]   (cls-hv1)
    has_value: dict[Node, list[tuple[Node, Node]]] = field(default_factory=dict)
    #: (property, value) → [restriction class]  (cls-hv2)
    has_value_by_pair: dict[tuple[Node, Node], list[Node]] = field(default_factory=dict)
    #: property → [(restriction class, filler class)]  (cls-svf1/2, subject side)
    some_by_property: dict[Node, list[tuple[Node, Node]]] = field(default_factory=dict)
    #: filler class → [(restriction class, property)]  (cls-svf1, object side)
    some_by_filler: dict[Node, list[tuple[Node, Node]]] = field(default_factory=dict)
    #: restriction class → [(property, filler)]  (cls-avf, class side)
    all_by_class: dict[Node, list[tuple[Node, Node]]] = field(default_factory=dict)
    #: property → [(restriction class, filler)]  (cls-avf, property side)
    all_by_property: dict[Node, list[tuple[Node, Node]]] = field(default_factory=dict)
    #: intersection class → its members; member → intersections it belongs to
    intersections: dict[Node, tuple[Node, ...]] = field(default_factory=dict)
    intersections_by_member: dict[Node, list[Node]] = field(default_factory=dict)
    #: entailed schema triples (closed subClassOf, subPropertyOf, domain, range …)
    triples: set[Triple] = field(default_factory=set)

    def properties(self) -> set[Node]:
        """Every property some instance rule reads (these triples are indexed)."""
        props: set[Node] = set(self.superproperties) | set(self.domains)
        props |= set(self.ranges) | set(self.inverses) | self.symmetric
        props |= self.transitive | self.functional | self.inverse_functional
        props |= set(self.chains) | set(self.some_by_property)
        props |= set(self.all_by_property) | {p for p, _ in self.has_value_by_pair}
        for supers in self.superproperties.values():
            props |= supers
        for inverses in self.inverses.values():
            props |= inverses
        for head, _, _ in (c for cs in self.chains.values() for c in cs):
            props.add(head)
        for pairs in self.has_value.values():
            props |= {p for p, _ in pairs}
        return props

    def classes(self) -> set[Node]:
        """Every class some instance rule reads or writes (these types are indexed)."""
        classes: set[Node] = set(self.superclasses) | set(self.has_value)
        classes |= set(self.some_by_filler) | set(self.all_by_class)
        classes |= set(self.intersections) | set(self.intersections_by_member)
        for supers in self.superclasses.values():
            classes |= supers
        for targets in (self.domains, self.ranges):
            for found in targets.values():
                classes |= found
        for pairs in (*self.some_by_property.values(), *self.all_by_property.values()):
            classes |= {c for pair in pairs for c in pair}
        for members in self.intersections.values():
            classes |= set(members)
        for restrictions in self.has_value_by_pair.values():
            classes |= set(restrictions)
        return classes


def _closure(direct: dict[Node, set[Node]]) -> dict[Node, set[Node]]:
    """Transitive closure of a small relation (strict: a node is not its own).

    >>> sorted(_closure({"a": {"b"}, "b": {"c"}})["a"])
    ['b', 'c']
    """
    closed: dict[Node, set[Node]] = {}
    for start in direct:
        seen: set[Node] = set()
        stack = list(direct[start])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(direct.get(node, ()))
        seen.discard(start)
        if seen:
            closed[start] = seen
    return closed


class _Index:
    """Two-way index of the triples of one predicate."""

    __slots__ = ("by_object", "by_subject")

    def __init__(self) -> None:
        self.by_subject: defaultdict[Node, set[Node]] = defaultdict(set)
        self.by_object: defaultdict[Node, set[Node]] = defaultdict(set)


def compile_schema(triples: Iterable[Triple]) -> Schema:
    """Read and close the T-box of *triples* (only schema triples are kept).

    Args:
        triples: the asserted triples (schema and data; data triples are ignored).

    Returns:
        The schema with every rule indexed by the term that triggers it.
    """
    by_p: defaultdict[Node, list[tuple[Node, Node]]] = defaultdict(list)
    types: defaultdict[Node, set[Node]] = defaultdict(set)
    characteristic = {
        OWL.SymmetricProperty,
        OWL.TransitiveProperty,
        OWL.FunctionalProperty,
        OWL.InverseFunctionalProperty,
    }
    for s, p, o in triples:
        if p in _SCHEMA_PREDICATES:
            by_p[p].append((s, o))
        elif p == TYPE and o in characteristic:
            types[o].add(s)
    first = dict(by_p[RDF.first])
    rest = dict(by_p[RDF.rest])

    def items(head: Node) -> tuple[Node, ...]:
        out: list[Node] = []
        while head in first and head != RDF.nil and len(out) < 10_000:
            out.append(first[head])
            head = rest.get(head, RDF.nil)
        return tuple(out)

    schema = Schema()
    schema.symmetric = types[OWL.SymmetricProperty]
    schema.transitive = types[OWL.TransitiveProperty]
    schema.functional = types[OWL.FunctionalProperty]
    schema.inverse_functional = types[OWL.InverseFunctionalProperty]
    on_property = {s: o for s, o in by_p[OWL.onProperty]}

    sub_c: defaultdict[Node, set[Node]] = defaultdict(set)
    sub_p: defaultdict[Node, set[Node]] = defaultdict(set)
    for s, o in by_p[RDFS.subClassOf]:
        sub_c[s].add(o)
    for s, o in by_p[OWL.equivalentClass]:
        sub_c[s].add(o)  # scm-eqc1
        sub_c[o].add(s)
    for s, o in by_p[RDFS.subPropertyOf]:
        sub_p[s].add(o)
    for s, o in by_p[OWL.equivalentProperty]:
        sub_p[s].add(o)  # scm-eqp1
        sub_p[o].add(s)
    for s, o in by_p[OWL.intersectionOf]:
        members = items(o)
        schema.intersections[s] = members
        for member in members:
            sub_c[s].add(member)  # scm-int
            schema.intersections_by_member.setdefault(member, []).append(s)
    for s, o in by_p[OWL.unionOf]:
        for member in items(o):
            sub_c[member].add(s)  # scm-uni
    for s, o in by_p[OWL.inverseOf]:
        schema.inverses.setdefault(s, set()).add(o)
        schema.inverses.setdefault(o, set()).add(s)
    for head, o in by_p[OWL.propertyChainAxiom]:
        chain = items(o)
        for position, prop in enumerate(chain):
            schema.chains.setdefault(prop, []).append((head, chain, position))
    has_value = [(r, on_property[r], v) for r, v in by_p[OWL.hasValue]]
    some = [(r, on_property[r], d) for r, d in by_p[OWL.someValuesFrom]]
    every = [(r, on_property[r], d) for r, d in by_p[OWL.allValuesFrom]]
    has_value = [t for t in has_value if t[0] in on_property]

    # scm-hv, scm-svf1/2, scm-avf1/2 need the closures; they only add subclass
    # links, so loop until the subclass relation stops growing.
    while True:
        supers_p = _closure(sub_p)
        supers_c = _closure(sub_c)
        size = sum(len(v) for v in sub_c.values())

        def sub_prop(
            p1: Node, p2: Node, closed: dict[Node, set[Node]] = supers_p
        ) -> bool:
            return p1 == p2 or p2 in closed.get(p1, ())

        def sub_class(
            c1: Node, c2: Node, closed: dict[Node, set[Node]] = supers_c
        ) -> bool:
            return c1 == c2 or c2 in closed.get(c1, ())

        for r1, p1, v1 in has_value:
            for r2, p2, v2 in has_value:
                if r1 != r2 and v1 == v2 and sub_prop(p1, p2):
                    sub_c[r1].add(r2)
        for r1, p1, d1 in some:
            for r2, p2, d2 in some:
                if r1 != r2 and sub_prop(p1, p2) and sub_class(d1, d2):
                    sub_c[r1].add(r2)
        for r1, p1, d1 in every:
            for r2, p2, d2 in every:
                if r1 == r2:
                    continue
                if (p1 == p2 and sub_class(d1, d2)) or (d1 == d2 and sub_prop(p2, p1)):
                    sub_c[r1].add(r2)
        if sum(len(v) for v in sub_c.values()) == size:
            break
    schema.superclasses = supers_c
    schema.superproperties = supers_p

    domains: defaultdict[Node, set[Node]] = defaultdict(set)
    ranges: defaultdict[Node, set[Node]] = defaultdict(set)
    for s, o in by_p[RDFS.domain]:
        domains[s].add(o)
    for s, o in by_p[RDFS.range]:
        ranges[s].add(o)
    for target in (domains, ranges):
        for prop in list(target):  # scm-dom1 / scm-rng1
            for cls in list(target[prop]):
                target[prop] |= supers_c.get(cls, set())
        for prop, supers in supers_p.items():  # scm-dom2 / scm-rng2
            for sup in supers:
                target[prop] |= target.get(sup, set())
    schema.domains = {p: c for p, c in domains.items() if c}
    schema.ranges = {p: c for p, c in ranges.items() if c}

    for r, p, v in has_value:
        schema.has_value.setdefault(r, []).append((p, v))
        schema.has_value_by_pair.setdefault((p, v), []).append(r)
    for r, p, d in some:
        schema.some_by_property.setdefault(p, []).append((r, d))
        schema.some_by_filler.setdefault(d, []).append((r, p))
    for r, p, d in every:
        schema.all_by_class.setdefault(r, []).append((p, d))
        schema.all_by_property.setdefault(p, []).append((r, d))

    out = schema.triples
    for cls, supers in supers_c.items():
        out |= {(cls, RDFS.subClassOf, sup) for sup in supers}
        out |= {
            (cls, OWL.equivalentClass, sup)  # scm-eqc2
            for sup in supers
            if cls in supers_c.get(sup, ())
        }
    for prop, supers in supers_p.items():
        out |= {(prop, RDFS.subPropertyOf, sup) for sup in supers}
        out |= {
            (prop, OWL.equivalentProperty, sup)  # scm-eqp2
            for sup in supers
            if prop in supers_p.get(sup, ())
        }
    for prop, classes in schema.domains.items():
        out |= {(prop, RDFS.domain, cls) for cls in classes}
    for prop, classes in schema.ranges.items():
        out |= {(prop, RDFS.range, cls) for cls in classes}
    return schema


def infer(triples: Iterable[Triple]) -> set[Triple]:
    """Return the triples the OWL 2 RL rules add to *triples* (the asserted ones).

    Literal-subject conclusions are never produced (RDF cannot hold them).

    >>> from rdflib import Namespace
    >>> ex = Namespace("http://example.org/")
    >>> new = infer([(ex.Cat, RDFS.subClassOf, ex.Animal), (ex.tom, TYPE, ex.Cat)])
    >>> new == {(ex.tom, TYPE, ex.Animal)}
    True
    """
    asserted = triples if isinstance(triples, (list, set, tuple)) else list(triples)
    return Engine(compile_schema(asserted)).run(asserted)


class Engine:
    """Semi-naive forward chaining of the instance rules of one :class:`Schema`."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.properties = schema.properties() | {SAME_AS}
        self.classes = schema.classes()
        self.index: dict[Node, _Index] = {p: _Index() for p in self.properties}
        self.index[TYPE] = _Index()
        self.asserted: set[Triple] = set()
        self.new: set[Triple] = set()
        self.queue: list[Triple] = []
        self.same_as = self.index[SAME_AS]

    def run(self, triples: Iterable[Triple], *, index_all: bool = False) -> set[Triple]:
        """Load *triples*, fire every rule to the fixpoint, return what is new.

        Args:
            triples: the asserted triples (read twice: pass a collection).
            index_all: index every triple, not only those the schema mentions;
                needed once ``owl:sameAs`` holds (eq-rep-* copy any triple).
        """
        relevant, classes = self.properties, self.classes
        schema_asserted: set[Triple] = set()
        for triple in triples:
            _, p, o = triple
            if p in _SCHEMA_PREDICATES:
                schema_asserted.add(triple)
            if p == SAME_AS and not index_all:
                return Engine(self.schema).run(triples, index_all=True)
            wanted = index_all or p in relevant or (p == TYPE and o in classes)
            if wanted and self._store(triple):
                self.asserted.add(triple)
                self.queue.append(triple)
        for triple in self.schema.triples - schema_asserted:
            self._add(*triple)
        self._saturate()
        if self.same_as.by_subject and not index_all:
            # prp-fp/prp-ifp derived an owl:sameAs: start again, indexing everything.
            return Engine(self.schema).run(triples, index_all=True)
        return self.new

    def _store(self, triple: Triple) -> bool:
        s, p, o = triple
        index = self.index.get(p)
        if index is None:
            index = self.index[p] = _Index()
        objects = index.by_subject[s]
        if o in objects:
            return False
        objects.add(o)
        index.by_object[o].add(s)
        return True

    def _add(self, s: Node, p: Node, o: Node) -> None:
        if isinstance(s, Literal):
            return
        if self._store((s, p, o)):
            triple = (s, p, o)
            self.new.add(triple)
            self.queue.append(triple)

    def _has(self, s: Node, p: Node, o: Node) -> bool:
        index = self.index.get(p)
        return index is not None and o in index.by_subject.get(s, ())

    def _saturate(self) -> None:
        queue = self.queue
        while queue:
            s, p, o = queue.pop()
            if p == TYPE:
                self._type_rules(s, o)
            else:
                self._property_rules(s, p, o)
            if self.same_as.by_subject:
                self._same_as_rules(s, p, o)

    def _type_rules(self, x: Node, cls: Node) -> None:
        schema, add = self.schema, self._add
        for sup in schema.superclasses.get(cls, ()):  # cax-sco, cax-eqc, cls-int2
            add(x, TYPE, sup)
        for p, v in schema.has_value.get(cls, ()):  # cls-hv1
            add(x, p, v)
        for p, filler in schema.all_by_class.get(cls, ()):  # cls-avf
            for y in list(self.index[p].by_subject.get(x, ())):
                add(y, TYPE, filler)
        for restriction, p in schema.some_by_filler.get(cls, ()):  # cls-svf1
            for s in list(self.index[p].by_object.get(x, ())):
                add(s, TYPE, restriction)
        types = self.index[TYPE].by_subject.get(x, set())
        for cls_int in schema.intersections_by_member.get(cls, ()):  # cls-int1
            if all(m in types for m in schema.intersections[cls_int]):
                add(x, TYPE, cls_int)

    def _property_rules(self, s: Node, p: Node, o: Node) -> None:
        schema, add = self.schema, self._add
        for sup in schema.superproperties.get(p, ()):  # prp-spo1, prp-eqp
            add(s, sup, o)
        for cls in schema.domains.get(p, ()):  # prp-dom
            add(s, TYPE, cls)
        if not isinstance(o, Literal):
            for cls in schema.ranges.get(p, ()):  # prp-rng
                add(o, TYPE, cls)
            for inverse in schema.inverses.get(p, ()):  # prp-inv1/2
                add(o, inverse, s)
            if p in schema.symmetric:  # prp-symp
                add(o, p, s)
        if p in schema.transitive:  # prp-trp
            index = self.index[p]
            for z in list(index.by_subject.get(o, ())):
                add(s, p, z)
            for x in list(index.by_object.get(s, ())):
                add(x, p, o)
        for head, chain, position in schema.chains.get(p, ()):  # prp-spo2
            for x in self._walk(s, chain[:position][::-1], backwards=True):
                for z in self._walk(o, chain[position + 1 :], backwards=False):
                    add(x, head, z)
        if p in schema.functional:  # prp-fp
            for other in list(self.index[p].by_subject.get(s, ())):
                if other != o:
                    add(o, SAME_AS, other)
        if p in schema.inverse_functional:  # prp-ifp
            for other in list(self.index[p].by_object.get(o, ())):
                if other != s:
                    add(s, SAME_AS, other)
        for restriction in schema.has_value_by_pair.get((p, o), ()):  # cls-hv2
            add(s, TYPE, restriction)
        for restriction, filler in schema.some_by_property.get(p, ()):  # cls-svf1/2
            if filler == OWL.Thing or self._has(o, TYPE, filler):
                add(s, TYPE, restriction)
        for restriction, filler in schema.all_by_property.get(p, ()):  # cls-avf
            if self._has(s, TYPE, restriction):
                add(o, TYPE, filler)

    def _walk(
        self, start: Node, chain: tuple[Node, ...], *, backwards: bool
    ) -> set[Node]:
        nodes = {start}
        for prop in chain:
            index = self.index[prop]
            edges = index.by_object if backwards else index.by_subject
            nodes = {n for node in nodes for n in edges.get(node, ())}
            if not nodes:
                break
        return nodes

    def _same_as_rules(self, s: Node, p: Node, o: Node) -> None:
        add, same = self._add, self.same_as.by_subject
        if p == SAME_AS:
            add(o, SAME_AS, s)  # eq-sym
            for z in list(same.get(o, ())):  # eq-trans
                add(s, SAME_AS, z)
            # eq-rep-s/-o for triples about s that were processed before this sameAs
            # was known (the rules below only see triples popped after it)
            for q, index in list(self.index.items()):
                for x in list(index.by_subject.get(s, ())):
                    add(o, q, x)
                for y in list(index.by_object.get(s, ())):
                    add(y, q, o)
        for other in list(same.get(s, ())):  # eq-rep-s
            add(other, p, o)
        for other in list(same.get(p, ())):  # eq-rep-p
            add(s, other, o)
        for other in list(same.get(o, ())):  # eq-rep-o
            add(s, p, other)
