"""Writers and readers of the real datasets' on-disk formats.

Simulated data is written through these modules, and real data is read through the same readers,
so every notebook runs unchanged on either (point a paper's ``*_dir`` parameter at the real copy).
"""
