"""The matching wing: names, places and the links between the graph and other
datasets.

- :mod:`.names` (normalise, fold), :mod:`.similarity` (the one name scorer, 0–100),
  :mod:`.gazetteer` (places and the conflict rule), :mod:`.lexicon` (a Chinese →
  English word table learned from names in both scripts);
- :mod:`.link` (``mededkg link``: readers, matcher, decision, linkset),
  :mod:`.reconcile` (the W3C Reconciliation API's index), :mod:`.sssom` (SSSOM files:
  read, write, RDF).

Imports no other wing but the pipeline's loading (``link`` reads the graph's
entities); imported by the importers, the pipeline (SSSOM → RDF), the CLI and the web
app.
"""
