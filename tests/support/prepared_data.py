"""A complete PREPARED_DATA payload with distinctive values, for validation and privacy tests.

Every value is fake and unusual enough that finding it in a log line, a ledger item or an
execution history can only mean a leak.
"""

from __future__ import annotations

from typing import Any

FULL_DATA: dict[str, Any] = {
    "suffix": "Mx",
    "firstName": "Zebulon-Qx7",
    "middleName": "Quirinus-Vb2",
    "lastName": "Okonkwo-Wd9",
    "sex": "M",
    "dateOfBirth": "1985-01-01",
    "socialSecurityNumber": "987-65-4329",
    "nationality": "BRA",
    "email": "Zebulon.Qx7@Example.COM",
    "phoneNumber": "+55 11 5555-0199",
    "phoneNumber2": "+55 11 5555-0188",
    "personalNumber": "52998224725",
    "address": {
        "line1": "77 Rua Xylofone",
        "line2": "Apt 7Q",
        "line3": "Bloco Z",
        "line4": "Torre 9",
        "line5": "Fundos",
        "postalCode": "01310-930",
        "city": "Sao Paulo",
        "subdivision": "SP",
        "country": "BRA",
    },
    "id": {
        "issuingDate": "2014-02-20",
        "expiryDate": "2034-11-30",
        "idNumber": "XQ7734591",
        "type": "DRIVING_LICENSE",
    },
    "kyc": {"occupation": "Zoologist-Kp4", "pep": False},
    "bank": {"iban": "BR1500000000000010932840814P2"},
    "business": {"name": "Quokka Ventures Qx7"},
}
