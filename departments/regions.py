"""Which region a hospital belongs to, for hospitals the portal knows by their SKS code.

Registry extracts name hospitals and departments but not regions. A hospital first seen in an
extract is placed in its region from this table; one not listed here waits for an administrator
to set its region in the admin.
"""

from __future__ import annotations

HOSPITAL_REGIONS: dict[str, str] = {
    "1301": "Region Hovedstaden",  # Rigshospitalet
    "1330": "Region Hovedstaden",  # Bispebjerg og Frederiksberg Hospital
    "1516": "Region Hovedstaden",  # Herlev og Gentofte Hospital
    "4001": "Region Hovedstaden",  # Nordsjællands Hospital, Hillerød
    "6006": "Region Hovedstaden",  # Hvidovre Hospital
    "3750": "Region Sjælland",  # Slagelse Sygehus
    "3800": "Region Sjælland",  # Nykøbing Falster Sygehus
    "4202": "Region Sjælland",  # Sjællands Universitetshospital, Køge
    "4211": "Region Sjælland",  # Sjællands Universitetshospital, Roskilde
    "5001": "Region Syddanmark",  # Sygehus Sønderjylland, Aabenraa
    "5005": "Region Syddanmark",  # Sydvestjysk Sygehus, Esbjerg
    "5501": "Region Syddanmark",  # Odense Universitetshospital
    "5502": "Region Syddanmark",  # OUH Svendborg Sygehus
    "6630": "Region Syddanmark",  # Sygehus Lillebælt, Vejle
    "7003": "Region Midtjylland",  # Regionshospitalet Randers
    "7005": "Region Midtjylland",  # Aarhus Universitetshospital
    "7601": "Region Midtjylland",  # Regionshospitalet Gødstrup
    "7603": "Region Midtjylland",  # Regionshospitalet Viborg
    "8001": "Region Nordjylland",  # Aalborg Universitetshospital
    "8002": "Region Nordjylland",  # Aalborg Universitetshospital, Thisted
    "8003": "Region Nordjylland",  # Regionshospital Nordjylland, Hjørring
}
