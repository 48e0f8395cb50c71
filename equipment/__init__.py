"""Facilities, equipment, wear indicators, Excel import/export, registry pages and API."""
