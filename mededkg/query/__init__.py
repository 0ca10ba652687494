"""The query wing: the one gate every query passes and what surrounds it.

- :mod:`.gate` — ``execute``: bounds, SERVICE rules, row limit, deadline, the engine;
- :mod:`.sandbox` — the worker pool (hard time limit, no network) the server runs
  queries in; :mod:`.answers` — a job run through the gate and serialized;
- :mod:`.federation` — which SERVICE calls are allowed; :mod:`.namedqueries` — the
  ``queries/*.rq`` files and their parameters; :mod:`.formats`, :mod:`.results` —
  result and RDF formats and their serialisation.

May import the storage wing; imported by the pipeline (statistics, VoID), the CLI, the
Python API and the web app.
"""
