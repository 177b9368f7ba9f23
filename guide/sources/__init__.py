"""Sources: the manifest, reading files and pages, and growing the library."""
