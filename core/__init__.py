"""The ground floor: what every layer shares and nothing of scenebridge's own is imported by.

``domain`` (items, histories, scenes), ``errors`` (the few exceptions every boundary translates),
``settings`` (``SCENEBRIDGE_*``), ``titles`` (one way to show, split and compare titles) and
``data`` (MovieLens from the installed packages, scenes by genre, the CSV/JSONL importer).
"""
