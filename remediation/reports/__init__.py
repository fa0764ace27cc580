"""Compliance reports as documents: signing, vector charts, the PDF and verification.

Pure functions of a report bundle (a JSON-serialisable dict); nothing here reads the
database, so a report can be checked offline with only the file and a public key.
"""
