"""Pieces shared by several papers (moved down here so paper packages never import each other)."""
