"""KYC onboarding: applications, their documents, maker-checker review, the KRA and re-KYC."""
