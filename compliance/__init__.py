"""Compliance: clients and KYC, AML, the audit trail, surveillance and regulatory exports."""
