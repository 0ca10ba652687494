"""The pipeline wing: sources → a checked build → the store and its outputs.

- :mod:`.load` (one named graph per file; SSSOM via :mod:`mededkg.matching.sssom`),
  :mod:`.reason` and :mod:`.rules` (OWL 2 RL: owlrl, the compiled fast rules),
  :mod:`.validate` (SHACL), :mod:`.build` (the one order of the steps and ``check``);
- outputs: :mod:`.dumps` (every graph in every format, checksums), :mod:`.export`,
  :mod:`.stats`, :mod:`.void`, :mod:`.ontodoc` (the ontology's documentation page);
- writes: :mod:`.write` (SPARQL Update and Graph Store operations, checked by
  ``build.check``) and :mod:`.payload` (Graph Store request bodies).

May import the storage, query and matching wings; imported by the CLI, the Python API
and the web app.
"""
