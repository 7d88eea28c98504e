"""Choices of KYC, and the one table of the moves an application may make."""

from django.db import models


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    UNDER_REVIEW = "under_review", "Under review"
    ON_HOLD = "on_hold", "On hold"
    VERIFIED = "verified", "Verified (awaiting approval)"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


S = ApplicationStatus

#: Every legal move: (from, to) -> the permission the actor needs.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.DRAFT, S.SUBMITTED): "compliance.review_kyc",
    (S.SUBMITTED, S.UNDER_REVIEW): "compliance.review_kyc",
    (S.SUBMITTED, S.ON_HOLD): "compliance.review_kyc",
    (S.UNDER_REVIEW, S.ON_HOLD): "compliance.review_kyc",
    (S.ON_HOLD, S.UNDER_REVIEW): "compliance.review_kyc",
    (S.UNDER_REVIEW, S.VERIFIED): "compliance.review_kyc",
    (S.UNDER_REVIEW, S.REJECTED): "compliance.approve_kyc",
    (S.VERIFIED, S.APPROVED): "compliance.approve_kyc",
    (S.VERIFIED, S.REJECTED): "compliance.approve_kyc",
}

#: States an officer still has to act on (the KYC queue).
OPEN_STATES = (S.SUBMITTED, S.UNDER_REVIEW, S.ON_HOLD, S.VERIFIED)


class KraStatus(models.TextChoices):
    """The KRAs' own vocabulary."""

    REGISTERED = "KYC Registered", "KYC Registered"
    UNDER_PROCESS = "Under Process", "Under Process"
    ON_HOLD = "On Hold", "On Hold"
    REJECTED = "Rejected", "Rejected"
    VALIDATED = "KYC Validated", "KYC Validated"


class IncomeRange(models.TextChoices):
    """Gross annual income, in the ranges of the SEBI KYC form."""

    BELOW_1L = "below_1l", "Below Rs 1 lakh"
    L1_5 = "1l_5l", "Rs 1-5 lakh"
    L5_10 = "5l_10l", "Rs 5-10 lakh"
    L10_25 = "10l_25l", "Rs 10-25 lakh"
    L25_1CR = "25l_1cr", "Rs 25 lakh-1 crore"
    ABOVE_1CR = "above_1cr", "Above Rs 1 crore"


class Occupation(models.TextChoices):
    PRIVATE_SECTOR = "private_sector", "Private sector service"
    PUBLIC_SECTOR = "public_sector", "Public sector / government service"
    BUSINESS = "business", "Business"
    PROFESSIONAL = "professional", "Professional"
    AGRICULTURIST = "agriculturist", "Agriculturist"
    RETIRED = "retired", "Retired"
    HOUSEWIFE = "housewife", "Housewife"
    STUDENT = "student", "Student"
    FOREX_DEALER = "forex_dealer", "Forex dealer / money changer"
    JEWELLER = "jeweller", "Jeweller / bullion dealer"
    OTHER = "other", "Other"


class RiskCategory(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class DocumentKind(models.TextChoices):
    PAN_CARD = "pan_card", "PAN card"
    PROOF_OF_ADDRESS = "proof_of_address", "Proof of address"
    PHOTO = "photo", "Photograph"
    SIGNATURE = "signature", "Signature"
    BANK_PROOF = "bank_proof", "Bank proof (cancelled cheque or statement)"
    INCOME_PROOF = "income_proof", "Income proof"


#: Documents an application needs before it is submitted (income proof only for derivatives).
REQUIRED_DOCUMENTS = (
    DocumentKind.PAN_CARD,
    DocumentKind.PROOF_OF_ADDRESS,
    DocumentKind.PHOTO,
    DocumentKind.SIGNATURE,
    DocumentKind.BANK_PROOF,
)


class ReKycStatus(models.TextChoices):
    DUE = "due", "Due"
    DONE = "done", "Done (new application approved)"


class IndianState(models.TextChoices):
    """States and union territories by their GST state code (the first two digits of a
    GSTIN: 27 is Maharashtra). A contract note compares the label with the broker's state
    (``COMPLIANCE_BROKER["state"]``) to show GST as CGST + SGST or as IGST."""

    JAMMU_AND_KASHMIR = "01", "Jammu and Kashmir"
    HIMACHAL_PRADESH = "02", "Himachal Pradesh"
    PUNJAB = "03", "Punjab"
    CHANDIGARH = "04", "Chandigarh"
    UTTARAKHAND = "05", "Uttarakhand"
    HARYANA = "06", "Haryana"
    DELHI = "07", "Delhi"
    RAJASTHAN = "08", "Rajasthan"
    UTTAR_PRADESH = "09", "Uttar Pradesh"
    BIHAR = "10", "Bihar"
    SIKKIM = "11", "Sikkim"
    ARUNACHAL_PRADESH = "12", "Arunachal Pradesh"
    NAGALAND = "13", "Nagaland"
    MANIPUR = "14", "Manipur"
    MIZORAM = "15", "Mizoram"
    TRIPURA = "16", "Tripura"
    MEGHALAYA = "17", "Meghalaya"
    ASSAM = "18", "Assam"
    WEST_BENGAL = "19", "West Bengal"
    JHARKHAND = "20", "Jharkhand"
    ODISHA = "21", "Odisha"
    CHHATTISGARH = "22", "Chhattisgarh"
    MADHYA_PRADESH = "23", "Madhya Pradesh"
    GUJARAT = "24", "Gujarat"
    DADRA_NAGAR_HAVELI_DAMAN_DIU = "26", "Dadra and Nagar Haveli and Daman and Diu"
    MAHARASHTRA = "27", "Maharashtra"
    KARNATAKA = "29", "Karnataka"
    GOA = "30", "Goa"
    LAKSHADWEEP = "31", "Lakshadweep"
    KERALA = "32", "Kerala"
    TAMIL_NADU = "33", "Tamil Nadu"
    PUDUCHERRY = "34", "Puducherry"
    ANDAMAN_AND_NICOBAR = "35", "Andaman and Nicobar Islands"
    TELANGANA = "36", "Telangana"
    ANDHRA_PRADESH = "37", "Andhra Pradesh"
    LADAKH = "38", "Ladakh"
