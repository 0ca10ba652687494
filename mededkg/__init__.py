"""MedEdKG: an open knowledge graph of medical education."""
