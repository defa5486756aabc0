"""The Mautic REST client: the only package that speaks HTTP to Mautic (and the only importer of httpx)."""
