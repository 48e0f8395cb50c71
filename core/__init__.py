"""Application core: factory, settings, extensions, database base, errors, i18n, audit, access."""
