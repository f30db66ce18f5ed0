"""The rendered site of the replication: ``python -m robopercept.site build OUT`` (``make site``).

Built from what ``reports/`` holds (executed notebooks, tables, figures, metrics, stage timings) with Sphinx and
myst-nb, never re-executing a notebook. Why Sphinx + myst-nb: it renders executed ``.ipynb`` files as they are
(``nb_execution_mode = "off"``), its search index is a local JavaScript file (search works offline, from the built
folder), its themes ship their assets (no CDN), and it is the most widely maintained of the candidates; MkDocs 1.x
is in maintenance only and Jupyter Book 2 builds through a Node toolchain that fetches its theme at build time.
MathJax comes from the ``jupyter-server-mathjax`` package's copy, so equations render offline too.
"""

from .build import PAPERS, SiteError, build_site, write_sources

__all__ = ["PAPERS", "SiteError", "build_site", "write_sources"]
