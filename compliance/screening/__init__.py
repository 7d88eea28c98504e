"""AML screening: sanctions and PEP lists, imported as versions; clients matched against
them; the hits an officer disposes (true match or false positive)."""
