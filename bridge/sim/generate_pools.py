"""Fixed pools the case generator draws from (synthetic names, places and codes)."""

from __future__ import annotations

__all__ = [
    "CONTACT_TYPES",
    "COUNTIES_BY_TOWN",
    "FEMALE_NAMES",
    "MALE_NAMES",
    "NATIONALITIES",
    "OTHER_REGISTER_TYPES",
    "ROSH_TYPES",
    "STAFF",
    "STREETS",
    "SURNAMES",
    "TEAMS",
    "TOWNS",
]

MALE_NAMES = (
    "Aaron", "Adam", "Aiden", "Alan", "Alfie", "Andrew", "Anthony", "Ashley", "Barry",
    "Ben", "Bradley", "Callum", "Carl", "Charlie", "Chris", "Colin", "Craig", "Daniel",
    "Darren", "David", "Dean", "Declan", "Dylan", "Eoin", "Gareth", "Gary", "George",
    "Graham", "Harry", "Ian", "Jack", "Jamal", "James", "Jamie", "Jason", "Jordan",
    "Joseph", "Kai", "Karl", "Kieran", "Lee", "Leon", "Liam", "Luke", "Marcus", "Mark",
    "Martin", "Matthew", "Michael", "Mohammed", "Nathan", "Neil", "Nicholas", "Oliver",
    "Omar", "Owen", "Paul", "Peter", "Reece", "Richard", "Robert", "Ryan", "Scott",
    "Sean", "Shane", "Simon", "Stephen", "Stuart", "Thomas", "Tomasz", "Tyler",
    "Wayne", "William", "Zak", "Rhys", "Siôn", "Ciarán", "José", "Łukasz",
)  # fmt: skip

FEMALE_NAMES = (
    "Amy", "Charlotte", "Chloe", "Claire", "Danielle", "Emma", "Gemma", "Hannah",
    "Jade", "Jessica", "Karen", "Kelly", "Laura", "Leanne", "Lisa", "Louise", "Megan",
    "Michelle", "Natalie", "Nicola", "Rachel", "Rebecca", "Sarah", "Stacey", "Zoë",
    "Siân", "Aoife", "Chantelle", "Joanne", "Tracey",
)  # fmt: skip

SURNAMES = (
    "Abbott", "Ahmed", "Ali", "Allen", "Anderson", "Atkinson", "Bailey", "Baker",
    "Barker", "Bell", "Bennett", "Brown", "Butler", "Campbell", "Carter", "Clarke",
    "Collins", "Cook", "Cooper", "Cox", "Davies", "Dixon", "Edwards", "Ellis", "Evans",
    "Fisher", "Foster", "Graham", "Gray", "Green", "Griffiths", "Hall", "Harris",
    "Harrison", "Hill", "Holmes", "Hughes", "Hunt", "Hussain", "Jackson", "James",
    "Johnson", "Jones", "Kaur", "Kelly", "Khan", "King", "Knight", "Lee", "Lewis",
    "Marshall", "Martin", "Mason", "Mills", "Mitchell", "Moore", "Morgan", "Morris",
    "Murphy", "Murray", "Nowak", "O'Brien", "O'Connor", "Owen", "Palmer", "Parker",
    "Patel", "Phillips", "Powell", "Price", "Richards", "Roberts", "Robinson",
    "Rogers", "Russell", "Scott", "Shaw", "Simpson", "Singh", "Smith", "Stevens",
    "Taylor", "Thomas", "Thompson", "Turner", "Walker", "Ward", "Watson", "White",
    "Williams", "Wilson", "Wood", "Wright", "Young", "Ní Bhriain", "Smith-Jones",
)  # fmt: skip

STREETS = (
    "Acacia Avenue", "Albert Road", "Station Road", "Church Street", "High Street",
    "Victoria Road", "Park Lane", "Mill Lane", "Queen Street", "King Street",
    "Grange Road", "Manor Way", "Springfield Close", "Orchard Drive", "The Crescent",
    "Elm Grove", "Chapel Lane", "North Street", "London Road", "Windsor Terrace",
)  # fmt: skip

# town -> (county, postcode area)
COUNTIES_BY_TOWN = {
    "Croydon": ("Greater London", "CR"),
    "Lewisham": ("Greater London", "SE"),
    "Hackney": ("Greater London", "E"),
    "Brixton": ("Greater London", "SW"),
    "Harrow": ("Greater London", "HA"),
    "Ilford": ("Greater London", "IG"),
    "Enfield": ("Greater London", "EN"),
    "Kingston upon Thames": ("Greater London", "KT"),
    "Romford": ("Greater London", "RM"),
    "Bromley": ("Greater London", "BR"),
}
TOWNS = tuple(COUNTIES_BY_TOWN)

# Staff codes cycle over this set; N07A001 and N07A002 are the officers a staff
# registry can mark as needing a proxy.
STAFF = (
    ("N07A001", "Alex", "Example"),
    ("N07A002", "Robin", "Sample"),
    ("N07A003", "Jordan", "Placeholder"),
    ("N07B004", "Casey", "Testcase"),
    ("N07B005", "Morgan", "Fixture"),
    ("N07C006", "Taylor", "Dummy"),
)

TEAMS = (
    ("N07CHT", "Automation SPG"),
    ("N07T01", "Public Protection Team 1"),
    ("N07T02", "Public Protection Team 2"),
)

ROSH_TYPES = (
    ("RVHR", "Very High RoSH"),
    ("RVRH", "Very High RoSH"),
    ("RHRH", "High RoSH"),
    ("RMRH", "Medium RoSH"),
)

OTHER_REGISTER_TYPES = (
    ("ARSO", "Registered sex offender"),
    ("SHPO", "Sexual Harm Prevention Order"),
    ("ALSH", "Suicide/Self Harm"),
    ("WEAP", "Weapons"),
    ("RCHD", "Risk to Children"),
    ("STRG", "Street Gangs"),
)

CONTACT_TYPES = (
    ("EMAP", "MAPPA Meeting"),
    ("CHVS", "Home Visit to Case"),
    ("COAP", "Office Appointment"),
    ("EPOL", "Police Liaison"),
    ("ERSK", "Risk Management Plan Review"),
)

NATIONALITIES = ("British", "British", "British", "Irish", "Polish", "Romanian")
