"""The Excel import: reading asset lists, matching them to the registry, previews and commits."""
