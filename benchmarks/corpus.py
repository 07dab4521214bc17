"""A seeded generator of realistic source texts, for benchmarks at 1k, 10k, 100k and 1M documents.

Input: a document count and a seed. Output: source texts in the three formats kgbuild reads, written
as the real pages are (see ``data/sources/``): about 45 % ESF+ 2021–2027 records, 45 % ESF
project-bank pages (mostly the 2007–2013 glued-label layout, some 2014–2020 ``Label: value`` pages)
and 10 % English EU partner-search calls. The texts carry the traps of real data
(``/work/shared/design/DATA-MODEL.md``): page chrome, no-break and narrow no-break spaces in amounts,
national projects (``SE0``), municipality lists that cross the declared region, former municipality
names, organisation names cut short by the source, the same organisation under several names and in
several roles across documents. Every text is *valid*: it parses without warnings and its graph has
no SHACL violation, only the real-data warnings the shapes are meant to report.

Document ``i`` depends only on ``(seed, i)``: a corpus of 1,000 is the first 1,000 documents of a
corpus of 100,000, and the same seed always gives byte-identical files. The organisations, regions
and municipalities are fixed (they are the world the documents are about), so organisations recur
across documents as in reality.

Usage::

    python -m benchmarks.corpus --count 100000 --out /tmp/corpus-100k [--seed 1] [--stats]
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import functools
import json
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from kgbuild import reference as ref

__all__ = ["Document", "MIX", "corpus_stats", "generate", "generate_documents", "generate_texts", "main",
           "org_number", "write_corpus"]

# Share of each format: ESF+ record, ESF project-bank page, partner-search call.
MIX = (("esf_plus_2021", 0.45), ("esf_2007", 0.45), ("partner_search", 0.10))
_PREFIX = {"esf_plus_2021": "esfplus", "esf_2007": "bank", "partner_search": "call"}

# How often each real-data trap is drawn (per document of the format named).
RATE_NATIONAL_PLUS = 0.08        # ESF+: Region: ESF Nationellt / NUTS-2 kod: SE0
RATE_NATIONAL_BANK = 0.04        # project bank: RegionNationellt
RATE_OUTSIDE_REGION = 0.12       # project bank with a municipality list: 1–4 from another region
RATE_FORMER_NAME = 0.6           # "Malung" for Malung-Sälen, when it is listed
RATE_TRUNCATED = 0.3             # a co-financier/partner name over 30 characters, cut at 30
RATE_NO_TITLE_LINE = 0.15        # ESF+: no "22-010-S04 - Title" line (Namn: is still there)
RATE_TRAILING_MISSING = 0.15     # ESF+: the last 1–3 fields missing
RATE_REORDERED = 0.25            # ESF+ and project bank: fields out of the usual order
RATE_AMOUNTS_PLUS = 0.35         # ESF+: Beviljat ESF-stöd / Total projektbudget stated
RATE_RATE_MISMATCH = 0.12        # ESF+ with both amounts: granted/total differs from the declared rate
RATE_BANK_2014 = 0.25            # project bank: a 2014–2020 page ("Label: value", Diarienummer...)
RATE_LONG_PAGE = 0.15            # project bank: two to three times the usual text


# --- word pools ------------------------------------------------------------------------------------
# No sentence or title starts with a label of the project-bank pages ("Region...", "Program...",
# "Ort...", "Projektägare...", "Kontaktperson...", "Antal deltagare..."): a short line that does is
# read as a glued label. tests/test_benchmark_corpus.py checks this.


def _split(text: str) -> tuple[str, ...]:
    """Items separated by ``|``; line breaks are spaces, so that a long item may wrap."""
    return tuple(" ".join(item.split()) for item in text.split("|") if item.strip())


_SV_SUBJECTS = _split("""
Projektet | Projektets insatser | Verksamheten | Satsningen | Arbetet i projektet | Samverkansparterna |
Styrgruppen | Projektledningen | Insatserna | Metodutvecklingen | Det gemensamma arbetet |
Den lokala samverkansstrukturen | Parterna | Vi | Coacherna i projektet | Arbetsgruppen |
Kommunerna i {county} | Arbetsförmedlingen och kommunerna | Socialtjänst, skola och fritid |
Samordningsförbundet
""")
_SV_VERBS = _split("ska | kommer att | vill | avser att | har som mål att | arbetar för att | syftar till att "
                   "| behöver")
_SV_OBJECTS = _split("""
stärka deltagarnas möjligheter att nå egen försörjning genom arbete eller studier |
utveckla nya arbetssätt för samverkan mellan socialtjänst, skola och arbetsmarknadsenhet |
minska avståndet till arbetsmarknaden för {group} |
kartlägga behoven hos {group} i {place} |
erbjuda individuellt anpassat stöd, praktik och studie- och yrkesvägledning |
bygga upp en hållbar struktur för tidiga insatser |
ta tillvara erfarenheter från tidigare projekt och sprida dem i {county} |
öka kompetensen hos personal som möter {group} |
förbättra övergångarna från skola till arbetsliv |
motverka ohälsa och långvarigt utanförskap |
skapa fler vägar in på den lokala arbetsmarknaden i samarbete med arbetsgivare |
integrera jämställdhet, tillgänglighet och icke-diskriminering i hela verksamheten |
pröva arbetsintegrerande sociala företag som en väg till anställning |
korta tiden i arbetslöshet för {group} |
höja kompetensen inom vård och omsorg för att möta framtidens rekryteringsbehov |
utveckla validering av yrkeskunskaper hos {group} |
stödja små och medelstora företag i omställningen till en grön och digital ekonomi |
lyfta fram goda exempel och förankra arbetssätten i ordinarie verksamhet |
""")
_SV_TAILS = ("", "", " så att fler kan gå vidare till arbete eller studier",
             " i nära samverkan med arbetsgivare och civilsamhälle",
             " utifrån ett helhetsperspektiv på individens behov",
             " under hela projekttiden", " med särskilt fokus på {group}", " i {place} och angränsande kommuner",
             " på ett långsiktigt och hållbart sätt")
_SV_FIXED = _split("""
Målgruppen för projektet är {group}. |
Ambitionen är att {pct} av projektets {n} deltagare ska gå till arbete eller studier. |
Genom omvärldsanalyser har vi konstaterat att det finns ett stort utbud av resurser som målgruppen skulle kunna ta
del av. |
Steget från arbetslöshet och passivitet till ett heltidsåtagande är dock alltför stort för många i målgruppen. |
Tidiga åtgärder för att unga ska fullfölja sin skolgång kommer att minska samhällskostnaderna. |
Utbildning och utbildningsnivå är en viktig förutsättning för regional attraktivitet, utveckling och tillväxt. |
Det som genomsyrar projektet är att sätta den enskilde individen i centrum. |
Det finns stor möjlighet till delaktighet från deltagarnas sida vid utformning av insatser. |
Utöver detta kommer vi att pröva mätmetoder med syfte att hitta en som kan användas i hela {county}. |
I projektet samverkar skolor, socialtjänst och fritid i {nword} kommuner i {county}: {mlist}. |
Förprojektet är avsett att leda över till senare genomförandeprojekt för målgrupperna. |
Erfarenheterna från tidigare projekt visar att tät kontakt mellan deltagare, handledare och arbetsgivare ger bättre
resultat. |
Att samverkan mellan kursanordnare och projektledning måste vara tät och välfungerande har blivit tydligt under
förprojekteringen. |
En extern utvärderare följer arbetet och återkopplar löpande till styrgruppen. |
Jämställdhet och tillgänglighet integreras i alla delar av verksamheten. |
Samtliga parter ser målgruppen som prioriterad under de kommande åren. |
Resultaten sprids genom seminarier, nätverksträffar och en slutkonferens. |
Deltagarna erbjuds kartläggning, vägledning, praktik och vid behov kortare utbildningar. |
Arbetsgivare i {place} medverkar genom praktikplatser, studiebesök och rekrytering. |
Hälften av deltagarna beräknas vara kvinnor. |
Under {year} genomförs en gemensam studieresa för styrgrupp och samverkanspartners. |
Insatserna sker i samverkan mellan ungdom, vårdnadshavare, skola, socialtjänst och fritid. |
Dels arbetar vi reaktivt med personer som redan befinner sig i utanförskap, dels proaktivt med dem som riskerar att
hamna där. |
Ett led i arbetet är att komma till rätta med samverkan på lokal nivå mellan de verksamheter som möter målgruppen. |
""")
_SV_GROUPS = _split("""
unga 16–24 år som varken arbetar eller studerar | långtidsarbetslösa kvinnor och män |
nyanlända kvinnor och män | personer med funktionsnedsättning | unga med problematisk skolfrånvaro |
personer som uppbär försörjningsstöd | långtidssjukskrivna | utrikes födda kvinnor | elever i årskurs 7–9 |
anställda inom vård och omsorg | personer med kort utbildning | unga 13–16 år
""")
_SV_TITLE_CORES = _split("""
Vägen till arbete | Unga in | Nya möjligheter | Kompetenslyft | Steget vidare | Framtidens kompetens |
Samverkan för unga | Hela vägen | Jobbsteget | Mötesplats arbete | Språk och arbete | Tidiga insatser |
Skolsamverkan | Kraftsamling | Öppna dörrar | Välfärdslyftet | Digital kompetens i vården | Ung framtid |
Bryt utanförskapet | Grön omställning | Samverkan, inkludering och anställningsbarhet |
Jämställd arbetsmarknad | Arbetsintegrerande socialt företagande | Utvecklad samverkan |
Lärande arbetsplatser | Stärkt vägledning | Fler i arbete | Merit
""")
_SV_SECTIONS = (  # heading, chance, paragraphs (min, max)
    ("Sammanfattning", 1.0, (1, 3)),
    ("Bakgrund", 0.9, (1, 6)),
    ("Syfte", 0.8, (1, 3)),
    ("Målsättning", 0.7, (1, 2)),
    ("Målgrupp", 0.3, (1, 2)),
    ("Metod", 0.25, (1, 3)),
    ("Förväntade resultat", 0.25, (1, 2)),
    ("Jämställdhetsintegrering", 0.25, (1, 2)),
    ("Tillgänglighet för personer med funktionsnedsättning", 0.3, (1, 2)),
    ("Transnationellt samarbete", 0.15, (1, 3)),
)
_NUMBER_WORDS = _split("noll | en | två | tre | fyra | fem | sex | sju | åtta | nio | tio | elva | tolv")
_NUMBER_WORDS_EN = _split("zero | one | two | three | four | five | six")
_SV_MONTHS = _split("januari | februari | mars | april | maj | juni | juli | augusti | september | oktober | november "
                    "| december")
_EN_MONTHS = _split("January | February | March | April | May | June | July | August | September | October | November "
                    "| December")
_WEBINARS = _split("Webbinarium om fattigdom i dagens Sverige | Webbinarium om jämställdhetsintegrering "
                   "| Webbinarium: så söker du ESF-stöd | Webbinarium om hållbar implementering")
_COOKIE_TEXT = ("Den här hemsidan använder cookies för att säkerställa bästa möjliga upplevelse på vår webb. "
                "Genom att använda denna webbplats förutsätter vi att du godkänner att vi sparar cookies på din enhet.")
_FIRST_NAMES = _split("""
Anna | Ann-Karin | Maria | Eva | Karin | Kristina | Lena | Sara | Emma | Amina | Fatima | Linnea | Ingrid |
Marie-Louise | Helena | Johanna | Åsa | Lars | Lars-Erik | Anders | Johan | Per | Erik | Karl | Mikael |
Roger | Peter | Magnus | Jonas | Ahmed | Mohammed | Björn | Göran | Örjan
""")
_LAST_NAMES = _split("""
Andersson | Johansson | Karlsson | Nilsson | Eriksson | Larsson | Olsson | Persson | Svensson | Gustafsson |
Pettersson | Lindberg | Lindström | Bergström | Öberg | Åkesson | Bohl | Engman Bel-Haj | Lundqvist | Holm |
Sjöberg | Hassan | Ali | Nyström | Falk | Ekström | Wikström-Berg | Hedlund | Mäkinen
""")

_EN_TITLE_CORES = _split("""
Joint development to combat poverty and social exclusion | Learning together for inclusion |
New paths to work for young adults | Digital skills for adult learners | Healthy schools, strong pupils |
Active citizens in small towns | Bridges between school and working life | Green skills for rural Europe |
Early intervention for children at risk | Mentoring for newly arrived migrants |
Democracy and participation in local communities | Second chance education for early school leavers |
Intergenerational learning in European towns
""")
_EN_GROUPS = _split("""
young adults and families experiencing poverty and social exclusion | early school leavers | newly arrived migrants |
adult learners with low basic skills | unemployed young people | pupils with special educational needs |
senior citizens | long-term unemployed women
""")
_EN_THEMES = (
    ("Child poverty", "We are now working on an action plan to combat child poverty and are looking for good examples "
                      "on how to work with families in sustained income support, promoting active parenting."),
    ("Dropouts", "The aim is to help young adults that have dropped out of school, or are near dropping out, to make "
                 "their own plan for the future, including an education path aimed for a specific occupation."),
    ("Early intervention", "Cross-disciplinary teams have been created to support families with young children, "
                           "and social workers dedicated to outreach work have been located in selected areas. "
                           "This work has been evaluated and we wish to develop it further."),
    ("Security", "We want to look for good examples and inspiration in neighbourhood outreach work directed at "
                 "children and adolescents."),
    ("Digital inclusion", "Many adults in our region lack the digital skills needed to take part in society and "
                          "working life, and libraries and adult education centres want to reach them together."),
    ("Language learning", "Language courses combined with work placements have given good results and we want to "
                          "compare methods with partners."),
    ("Mentoring", "Volunteers and professionals act as mentors for young people who need support to find their way "
                  "into education or work."),
    ("Guidance", "Study and career guidance from a norm-critical perspective is a key part of our work."),
    ("Entrepreneurship", "We want to exchange experiences on how schools can encourage entrepreneurial learning."),
    ("Democracy", "Young people and senior citizens will meet to discuss participation, remembrance and the future of "
                  "Europe."),
)
_EN_ORG_SENTENCES = _split("""
Services are administrated here for the entire {place} region, which comprises several surrounding municipalities. |
The organisation has long experience of European cooperation and has taken part in several transnational projects. |
Our staff work closely with local employers, schools and civil society organisations. |
The department is responsible for pre-school, primary school, secondary school, labour market and social services. |
The region is home to a university, a hospital and several national authorities, including regional offices of the
Swedish Public Employment Service. |
Around {pop} people live in the area, and the population is growing. |
Since the late 90s the different departments working with these questions have been working in silos, and there is
now a need to overcome the barriers resulting from this division of responsibility. |
Adult education, libraries and folk high schools offer a wide range of courses, and many of them are run in
cooperation with local employers. |
""")
_EN_PARTNERS = _split("""
Municipalities, NGO´s, county councils and other local/regional actors. |
Schools, adult education centres and local authorities. |
Universities, vocational training providers and social partners. |
Towns and municipalities with an interest in civic participation. |
Folk high schools and other adult education organisations. |
""")
_EN_OTHER = _split("""
We would like to ask interested organisations to contact us via email. A working group will be involved in the
processing of requests and will reply to all as soon as possible. |
Please send a short presentation of your organisation and your experience of similar projects. |
We welcome partners from all programme countries, in particular from Southern and Eastern Europe. |
""")
_EN_STAFF = ("We want to exchange experiences on several levels. The following staff categories would be welcome in "
             "the project: teachers at different levels, social workers, staff working with youth recreation, "
             "managers and strategists.")
_EN_KEYWORDS = _split("""
Child poverty | dropouts | alienation | security | early detection | field-based work | social inclusion |
adult learning | youth unemployment | digital competence | migration | integration | mentoring |
vocational training | entrepreneurship | democracy | active citizenship | gender equality | health |
sustainability | rural development | school leadership | language learning | guidance and counselling |
intercultural dialogue | volunteering
""")
_EN_TITLES = _split("Manager of Development | Project coordinator | EU coordinator | International coordinator "
                    "| Head of Unit | Development strategist | Teacher | Principal")
_DEPARTMENTS = _split("Arbetsmarknads- och socialförvaltningen | Barn- och ungdomsförvaltningen "
                      "| Utbildningsförvaltningen | Kommunledningskontoret | Regional utveckling "
                      "| International Office")

# (programme as written, fund, first and last deadline year, deadline months, web page, action in prose)
_PROGRAMMES = (
    ("Lifelong Learning Programme, Leonardo da Vinci - Partnership", "Leonardo da Vinci", 2008, 2013, (2,),
     "http://ec.europa.eu/education/lifelong-learning-programme/ldv_en.htm", "Leonardo da Vinci – Partnership"),
    ("Lifelong Learning Programme, Leonardo da Vinci - Transfer of Innovation", "Leonardo da Vinci", 2008, 2013,
     (2,), "http://ec.europa.eu/education/lifelong-learning-programme/ldv_en.htm",
     "Leonardo da Vinci – Transfer of Innovation"),
    ("Lifelong Learning Programme, Comenius Regio Partnerships", "Comenius", 2009, 2013, (2,),
     "http://ec.europa.eu/education/lifelong-learning-programme/comenius_en.htm", "Comenius Regio"),
    ("Lifelong Learning Programme, Grundtvig Learning Partnerships", "Grundtvig", 2008, 2013, (2,),
     "http://ec.europa.eu/education/lifelong-learning-programme/grundtvig_en.htm", "Grundtvig – Learning Partnership"),
    ("Erasmus+ KA2 Strategic Partnerships", "Erasmus+", 2014, 2020, (3, 4),
     "https://ec.europa.eu/programmes/erasmus-plus/", "Erasmus+ Key Action 2"),
    ("Erasmus+ Key Action 2, Cooperation partnerships in adult education", "Erasmus+", 2021, 2024, (3, 5),
     "https://erasmus-plus.ec.europa.eu/", "Erasmus+ cooperation partnerships"),
    ("Europe for Citizens, Town Twinning", "Europe for Citizens", 2014, 2020, (2, 3, 9),
     "http://eacea.ec.europa.eu/europe-for-citizens_en", "Europe for Citizens – Town Twinning"),
    ("Europe for Citizens, Networks of Towns", "Europe for Citizens", 2014, 2020, (3, 9),
     "http://eacea.ec.europa.eu/europe-for-citizens_en", "Europe for Citizens – Networks of Towns"),
)

# ESF+ codes as the records write them; project-bank programme areas of each period.
_PLUS_OBJECTIVES = _split("A1A | A2A | A2B | A2C | A2F | A2G | A2H | B2H | B2K | C2L | D2M")
_PLUS_INTERVENTIONS = _split("134 | 136 | 137 | 138 | 140 | 141 | 145 | 146 | 149 | 150 | 151 | 152 | 153 | 158 | 163")
_BANK_AREAS_2007 = ("Programområde 1 Kompetensutveckling för sysselsatta", "Programområde 2 Ökat arbetskraftsutbud")
_BANK_AREAS_2014 = ("Programområde 1 Kompetensförsörjning", "Programområde 2 Öka övergångarna till arbete",
                    "Programområde 3 Sysselsättningsinitiativet")

# County code → (capital municipality, telephone area code, postal-code range, share of projects).
_COUNTY_FACTS = {
    "01": ("Stockholm", "08", (100, 199), 20), "03": ("Uppsala", "018", (740, 759), 4),
    "04": ("Nyköping", "0155", (610, 649), 3), "05": ("Linköping", "013", (580, 619), 5),
    "06": ("Jönköping", "036", (550, 579), 4), "07": ("Växjö", "0470", (340, 369), 2),
    "08": ("Kalmar", "0480", (380, 399), 3), "09": ("Gotland", "0498", (620, 624), 1),
    "10": ("Karlskrona", "0455", (370, 379), 2), "12": ("Malmö", "040", (200, 299), 12),
    "13": ("Halmstad", "035", (300, 319), 3), "14": ("Göteborg", "031", (400, 549), 15),
    "17": ("Karlstad", "054", (650, 689), 4), "18": ("Örebro", "019", (690, 719), 3),
    "19": ("Västerås", "021", (720, 739), 3), "20": ("Falun", "023", (770, 799), 4),
    "21": ("Gävle", "026", (800, 829), 4), "22": ("Härnösand", "0611", (850, 899), 3),
    "23": ("Östersund", "063", (830, 849), 2), "24": ("Umeå", "090", (900, 939), 3),
    "25": ("Luleå", "0920", (940, 989), 3),
}
_UNIVERSITIES = {  # county code → (Swedish name, English name)
    "01": ("Stockholms universitet", "Stockholm University"), "03": ("Uppsala universitet", "Uppsala University"),
    "05": ("Linköpings universitet", "Linköping University"), "06": ("Jönköping University", "Jönköping University"),
    "07": ("Linnéuniversitetet", "Linnaeus University"),
    "10": ("Blekinge tekniska högskola", "Blekinge Institute of Technology"),
    "12": ("Malmö universitet", "Malmö University"), "13": ("Högskolan i Halmstad", "Halmstad University"),
    "14": ("Göteborgs universitet", "University of Gothenburg"), "17": ("Karlstads universitet", "Karlstad University"),
    "18": ("Örebro universitet", "Örebro University"), "19": ("Mälardalens universitet", "Mälardalen University"),
    "20": ("Högskolan Dalarna", "Dalarna University"), "21": ("Högskolan i Gävle", "University of Gävle"),
    "22": ("Mittuniversitetet", "Mid Sweden University"), "24": ("Umeå universitet", "Umeå University"),
    "25": ("Luleå tekniska universitet", "Luleå University of Technology"),
}
# Municipalities that call themselves "stad"; towns whose name is not the municipality's.
_STADS = frozenset(_split("Stockholm | Göteborg | Malmö | Västerås | Borås | Helsingborg | Solna | Lidingö "
                          "| Sundbyberg | Vaxholm | Landskrona | Trollhättan"))
_CITY = {"Gotland": "Visby", "Malung-Sälen": "Malung", "Upplands-Bro": "Kungsängen", "Ale": "Nödinge"}
_STOCKHOLM_DISTRICTS = _split("Bromma | Enskede-Årsta-Vantör | Farsta | Hägersten-Liljeholmens | Hässelby-Vällingby "
                              "| Kungsholmens | Norrmalms | Rinkeby-Kista | Skarpnäcks | Skärholmens | Spånga-Tensta "
                              "| Älvsjö | Östermalms | Södermalms")
_REAL_NUMBERS = {"Karlstads kommun": "2120001850", "Kommunförbundet Kalmar län": "8025185011"}

_TRANSLIT = str.maketrans("åäöéüÅÄÖÉÜ", "aaoeuAAOEU")
_SORT = str.maketrans({"å": "{", "ä": "|", "ö": "}", "é": "e", "ü": "y"})  # Swedish order: å, ä, ö after z
_VOWELS = frozenset("aeiouyåäöé")


# --- the world: regions, municipalities, organisations ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Org:
    """An organisation that recurs across documents, with its one organisationsnummer."""

    name: str
    number: str
    county: str
    domain: str
    postal: str
    city: str
    kind: str
    english: str | None = None
    municipality: ref.Municipality | None = None


@dataclass(slots=True)
class _Pick:
    """A weighted population, drawn with ``random.choices`` on precomputed cumulative weights."""

    items: list[Any] = field(default_factory=list)
    cum: list[float] = field(default_factory=list)

    def add(self, item: Any, weight: float) -> None:
        self.items.append(item)
        self.cum.append((self.cum[-1] if self.cum else 0.0) + weight)

    def one(self, rng: random.Random) -> Any:
        return rng.choices(self.items, cum_weights=self.cum)[0]

    def some(self, rng: random.Random, k: int) -> list[Any]:
        return rng.choices(self.items, cum_weights=self.cum, k=k)


@dataclass(slots=True)
class _World:
    """The fixed world of every corpus: places, and organisations weighted by how often they appear."""

    regions: dict[str, ref.EsfRegion]                         # nuts2 → region
    region_of_county: dict[str, str]                          # county code → nuts2
    municipalities_of_region: dict[str, list[ref.Municipality]]
    municipalities_of_county: dict[str, list[ref.Municipality]]
    counties: _Pick                                           # county codes, by share of projects
    owners: dict[str, _Pick]                                  # county code → owners
    national_owners: _Pick
    cofinanciers: dict[str, _Pick]                            # county code → co-financiers and partners
    call_owners: dict[str, _Pick]                             # county code → owners of partner searches
    orgs: list[Org]


def _check_digit(nine: str) -> str:
    total = 0
    for index, char in enumerate(nine):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def org_number(nine: str) -> str:
    """A ten-digit organisationsnummer: ``nine`` digits and their Luhn check digit.

    >>> org_number("212000185")
    '2120001850'
    """
    return nine + _check_digit(nine)


def _genitive(name: str) -> str:
    return name if name[-1] in _VOWELS or name[-1] in "sxz" else name + "s"


def _domain(name: str) -> str:
    return name.translate(_TRANSLIT).lower().replace(" ", "").replace(",", "") + ".se"


def _county_short(county: ref.County) -> str:
    short: str = county.name.removesuffix(" län")
    return short[:-1] if short.endswith("s") else short


@functools.cache
def _world() -> _World:
    """The organisations and places every corpus is about; fixed, whatever the seed."""
    regions = {r.nuts2: r for r in ref.esf_regions() if r.nuts2}
    region_of_county = {c.code: c.nuts3[:4] for c in ref.counties()}
    by_region: dict[str, list[ref.Municipality]] = {code: [] for code in regions}
    by_county: dict[str, list[ref.Municipality]] = {c.code: [] for c in ref.counties()}
    for m in ref.municipalities():
        by_region[region_of_county[m.county.code]].append(m)
        by_county[m.county.code].append(m)
    counters: Counter[str] = Counter()
    orgs: list[Org] = []
    serial_postal = Counter[str]()

    def number(prefix: str) -> str:
        counters[prefix] += 1
        k = counters[prefix]
        digits = 9 - len(prefix)
        serial = (100 + 3 * k) % 10 ** digits if digits == 3 else (k * 7919 + 10 ** (digits - 1)) % 10 ** digits
        return org_number(f"{prefix}{serial:0{digits}d}")

    def postal(county: str) -> str:
        low, high = _COUNTY_FACTS[county][2]
        serial_postal[county] += 1
        k = serial_postal[county]
        return f"{low + (k * 37) % (high - low + 1):03d}{(k * 53) % 100:02d}"

    def add(name: str, kind: str, prefix: str, county: str, city: str, domain: str, english: str | None = None,
            municipality: ref.Municipality | None = None, shares: str | None = None) -> Org:
        org = Org(name, shares or _REAL_NUMBERS.get(name) or number(prefix), county, domain,
                  "65184" if name == "Karlstads kommun" else postal(county), city, kind, english, municipality)
        orgs.append(org)
        return org

    national_orgs = [
        add("Arbetsförmedlingen", "state", "202100", "01", "Stockholm", "arbetsformedlingen.se"),
        add("Försäkringskassan", "state", "202100", "01", "Stockholm", "forsakringskassan.se"),
    ]
    national_owner_orgs = national_orgs + [
        add("Sveriges Kommuner och Regioner", "association", "222000", "01", "Stockholm", "skr.se"),
        add("Samhall Aktiebolag", "company", "556448", "01", "Stockholm", "samhall.se"),
        add("Folkbildningsrådet", "association", "802005", "01", "Stockholm", "folkbildningsradet.se"),
        add("Myndigheten för delaktighet", "state", "202100", "01", "Sundbyberg", "mfd.se"),
    ]
    world_counties = _Pick()
    owners: dict[str, _Pick] = {}
    cofin: dict[str, _Pick] = {}
    call_owners: dict[str, _Pick] = {}
    county_orgs: dict[str, list[tuple[Org, float]]] = {}
    for county in ref.counties():
        code, short = county.code, _county_short(county)
        capital_name, _, _, share = _COUNTY_FACTS[code]
        world_counties.add(code, share)
        capital_city = _CITY.get(capital_name, capital_name)
        mine: list[tuple[Org, float]] = []
        owner_pick, call_pick = _Pick(), _Pick()
        capital_org = national_orgs[0]
        for m in by_county[code]:
            if m.name == "Gotland":
                name, english = "Region Gotland", "Region Gotland"
            else:
                name = f"{_genitive(m.name)} {'stad' if m.name in _STADS else 'kommun'}"
                english = f"City of {m.alt_names[0] if m.alt_names else m.name}" if m.name in _STADS \
                    else f"The Municipality of {m.name}"
            capital = m.name == capital_name
            org = add(name, "municipality", "212000", code, _CITY.get(m.name, m.name), _domain(m.name), english, m)
            if capital:
                capital_org = org
            mine.append((org, 4.0 if capital else 1.5))
            owner_pick.add(org, 6.0 if capital else 2.0)
            call_pick.add(org, 6.0 if capital else 1.0)
        assert capital_org.kind == "municipality", f"no capital municipality {capital_name!r} in county {code}"
        if code != "09":  # on Gotland the municipality is the region
            region = add(f"Region {short}", "region", "232100", code, capital_city, _domain(f"region{short}"),
                         f"Region {short}")
            mine.append((region, 5.0))
            owner_pick.add(region, 5.0)
            call_pick.add(region, 4.0)
            mine.append((add(f"Landstinget i {short}", "region-old", "232100", code, capital_city,
                             _domain(f"landstinget{short}"), shares=region.number), 1.5))
        extra = [
            (f"Länsstyrelsen i {county.name}", "state", "202100", 2.0, 0.5),
            (f"Samordningsförbundet {short}", "federation", "222000", 3.0, 3.0),
            (f"{_genitive(capital_name)} folkhögskola", "school", "802010", 2.0, 1.5),
            (f"Studiefrämjandet {short}", "association", "802011", 1.0, 1.0),
            (f"ABF {short}", "association", "802012", 1.0, 1.0),
            (f"Coompanion {short}", "cooperative", "769600", 1.0, 1.0),
            (f"Företagarna {short}", "association", "802013", 1.0, 0.5),
            (f"Kommunförbundet {county.name}", "federation", "802518", 1.0, 1.5),
            (f"Arbetsförmedlingen {capital_city}", "state-office", "", 4.0, 0.0),
            (f"{_genitive(capital_name)} {'stad' if capital_name in _STADS else 'kommun'}, Arbetsmarknadsförvaltningen",
             "department", "", 2.0, 1.0),
        ]
        if code == "17":
            extra.append(("Klarälvdalens Samordningsförbund", "federation", "222000", 2.0, 2.0))
        if code == "01":
            extra += [(f"{district} stadsdelsförvaltning", "department", "", 1.5, 0.5)
                      for district in _STOCKHOLM_DISTRICTS]
            extra.append(("Stockholms stad, Utbildningsförvaltningen, Vuxenutbildningsavdelningen", "department", "",
                          1.0, 0.3))
        if code in _UNIVERSITIES:
            extra.append((_UNIVERSITIES[code][0], "university", "202100", 2.0, 1.0))
        for name, kind, prefix, weight, owner_weight in extra:
            # A department states its municipality's number, a local office its agency's.
            shares = {"department": capital_org.number, "state-office": national_orgs[0].number}.get(kind)
            domain = capital_org.domain if kind == "department" else _domain(name.split(",")[0])
            org = add(name, kind, prefix, code, capital_city, domain,
                      _UNIVERSITIES[code][1] if kind == "university" else
                      (f"{capital_name} Folk High School" if kind == "school" else None), shares=shares)
            mine.append((org, weight))
            if owner_weight:
                owner_pick.add(org, owner_weight)
            if org.english and kind in ("university", "school"):
                call_pick.add(org, 1.0)
        county_orgs[code] = mine
        owners[code], call_owners[code] = owner_pick, call_pick
    for county in ref.counties():
        pick = _Pick()
        for org in national_orgs:
            pick.add(org, 6.0)
        for other in ref.counties():
            if region_of_county[other.code] != region_of_county[county.code]:
                continue
            factor = 1.0 if other.code == county.code else 0.2
            for org, weight in county_orgs[other.code]:
                pick.add(org, weight * factor)
        cofin[county.code] = pick
    national_owners = _Pick()
    for org in national_owner_orgs:
        national_owners.add(org, 3.0)
    for code in county_orgs:
        for org, weight in county_orgs[code][:3]:
            national_owners.add(org, 0.2 * weight)
    numbers = [o.number for o in orgs if o.kind not in ("department", "state-office", "region-old")]
    assert len(numbers) == len(set(numbers)), "organisationsnummer must be unique"
    return _World(regions, region_of_county, by_region, by_county, world_counties, owners,
                  national_owners, cofin, call_owners, orgs)


# --- small formatters ------------------------------------------------------------------------------


_SORT_KEYS: dict[str, str] = {}


def _sort_key(name: str) -> str:
    key = _SORT_KEYS.get(name)
    if key is None:
        key = _SORT_KEYS[name] = name.lower().translate(_SORT)
    return key


def _swedish_sorted(names: Sequence[str] | set[str] | dict[str, None]) -> list[str]:
    """Names in Swedish alphabetical order (å, ä, ö after z), as the pages list them."""
    return sorted(names, key=_sort_key)


def _group(value: int, sep: str) -> str:
    return f"{value:,}".replace(",", sep)


def _amount(rng: random.Random, value: int, cents: int = 0) -> str:
    r = rng.random()
    sep = "\u00a0" if r < 0.55 else (" " if r < 0.8 else "\u202f")
    text = _group(value, sep) + (f",{cents:02d}" if cents else "")
    r = rng.random()
    return text + (" kr" if r < 0.75 else ("" if r < 0.95 else " SEK"))


def _decimal(value: int, cents: int = 0) -> Decimal:
    return Decimal(f"{value}.{cents:02d}") if cents else Decimal(value)


def _phone(rng: random.Random, area: str, international: float = 0.12) -> tuple[str, str]:
    """A Swedish telephone number in one of the spellings pages use, and its E.164 form."""
    if rng.random() < 0.25:
        area = "07" + "02369"[int(rng.random() * 5)]
        length = 7
    else:
        length = {2: 8, 3: 6 + (rng.random() < 0.6), 4: 5 + (rng.random() < 0.5)}[len(area)]
    digits = str(rng.randrange(2 * 10 ** (length - 1), 10 ** length))
    grouped = {5: f"{digits[:3]} {digits[3:]}", 6: f"{digits[:2]} {digits[2:4]} {digits[4:]}",
               7: f"{digits[:3]} {digits[3:5]} {digits[5:]}", 8: f"{digits[:3]} {digits[3:6]} {digits[6:]}"}[length]
    r = rng.random()
    if r < international:
        text = f"+46 {area[1:]} {grouped}" if r < international * 0.8 else f"+46 (0){area[1:]}-{grouped}"
    else:
        r = (r - international) / (1 - international)
        text = (f"{area}-{grouped}" if r < 0.5 else f"{area} {grouped}" if r < 0.72 else
                f"{area}-{digits}" if r < 0.9 else f"{area}{digits}")
    return text, f"+46{area[1:]}{digits}"


def _person(rng: random.Random) -> str:
    return f"{_FIRST_NAMES[int(rng.random() * len(_FIRST_NAMES))]} {_LAST_NAMES[int(rng.random() * len(_LAST_NAMES))]}"


def _email(rng: random.Random, person: str, domain: str) -> tuple[str, str]:
    local = person.translate(_TRANSLIT).replace(" ", ".")
    if rng.random() < 0.85:
        local = local.lower()
    written = f"{local}@{domain if rng.random() < 0.9 else domain.capitalize()}"
    return written, f"{local}@{domain}"


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _period(rng: random.Random, first: dt.date, last_start: dt.date, months: tuple[int, int],
            latest_end: dt.date) -> tuple[dt.date, dt.date]:
    """A start on or after ``first`` and an end ``months`` later (at a month's end), before ``latest_end``."""
    span = (last_start.year - first.year) * 12 + last_start.month - first.month
    offset = int(rng.random() * (span + 1))
    year, month = first.year + (first.month - 1 + offset) // 12, (first.month - 1 + offset) % 12 + 1
    start = dt.date(year, month, 1 if rng.random() < 0.75 else 1 + int(rng.random() * 28))
    length = months[0] + int(rng.random() * (months[1] - months[0] + 1))
    end_index = year * 12 + month - 1 + length - 1
    end = _month_end(end_index // 12, end_index % 12 + 1)
    if end > latest_end:
        end = latest_end
    if end <= start:
        end = start + dt.timedelta(days=30)
    return start, end


def _english_date(rng: random.Random, day: dt.date) -> str:
    d, month, year = day.day, _EN_MONTHS[day.month - 1], day.year
    suffix = "th" if 10 < d % 100 < 14 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    r = rng.random()
    if r < 0.5:
        return f"{d}{suffix} {month} {year}"
    if r < 0.75:
        return f"{d} {month} {year}"
    if r < 0.9:
        return f"{month} {d}{suffix}, {year}"
    return f"{d} {month[:3]}. {year}"


def _truncate(rng: random.Random, name: str, traps: Counter[str]) -> str:
    if len(name) > 30 and rng.random() < RATE_TRUNCATED:
        traps["truncated_name"] += 1
        return name[:30].rstrip(" ,-")
    return name


# --- prose -----------------------------------------------------------------------------------------


@functools.cache
def _sv_sentences() -> tuple[str, ...]:
    """Every subject/verb/object/tail sentence, and the fixed sentences as about a third of the pool."""
    built = [f"{subject} {verb} {obj}{tail}." for subject in _SV_SUBJECTS for verb in _SV_VERBS
             for obj in _SV_OBJECTS for tail in _SV_TAILS]
    return tuple(built) + _SV_FIXED * round(len(built) * 0.5 / len(_SV_FIXED))


def _sv_paragraph(rng: random.Random, context: dict[str, str]) -> str:
    text = " ".join(rng.choices(_sv_sentences(), k=2 + int(rng.random() * 5)))
    return text.format_map(context) if "{" in text else text


def _sv_context(rng: random.Random, county: ref.County, place: str, listed: Sequence[str], year: int,
                participants: int) -> dict[str, str]:
    shown = list(listed[:9]) or [place]
    stated = len(shown) + (1 if rng.random() < 0.2 else 0)  # "nio kommuner" and eight listed, as in reality
    words = _NUMBER_WORDS[stated] if stated < len(_NUMBER_WORDS) else str(stated)
    mlist = ", ".join(shown[:-1]) + (f" och {shown[-1]}" if len(shown) > 1 else shown[0])
    return {"group": _SV_GROUPS[int(rng.random() * len(_SV_GROUPS))], "place": place, "county": county.name,
            "pct": f"{40 + 5 * int(rng.random() * 7)}%", "n": str(participants or 100), "year": str(year),
            "nword": words, "mlist": mlist}


def _prose_municipalities(text: str, context: dict[str, str], listed: Sequence[str]) -> tuple[str, ...]:
    """The municipalities a page states: those in its list, then those its prose lists where it says the
    project works in them ("samverkar ... i åtta kommuner i Jämtlands län: Ragunda, Bräcke ..."; a list
    of two or more names: one alone is a place, not a list)."""
    sentence = "I projektet samverkar skolor, socialtjänst och fritid i {nword} kommuner i {county}: {mlist}."
    prose = context["mlist"].replace(" och ", ", ").split(", ") if sentence.format_map(context) in text else []
    return tuple(dict.fromkeys([*listed, *(prose if len(prose) > 1 else [])]))


def _sv_title(rng: random.Random, place: str, county_short: str, pre_study: bool) -> str:
    core = _SV_TITLE_CORES[int(rng.random() * len(_SV_TITLE_CORES))]
    r = rng.random()
    if pre_study:
        return f'Förprojekt "{core} i {place}"' if r < 0.5 else f"Förstudie {core.lower()}"
    if r < 0.3:
        return core
    if r < 0.55:
        return f"{core} - {place}"
    if r < 0.7:
        return f"{core} i {county_short}"
    if r < 0.8:
        return f"{_genitive(county_short)} {core.lower()}"
    if r < 0.9:
        initials = "".join(word[0] for word in core.replace(",", "").split() if word[0].isalpha()).upper()
        return f"{core} - {county_short} ({initials})" if len(initials) > 1 else f"{core} 2.0"
    return f"{core.split()[0].strip(',').lower().translate(_TRANSLIT)}.nu"


# --- the three formats -----------------------------------------------------------------------------

Built = tuple[str, dict[str, Any]]


def _plus_number(index: int) -> str:
    """ESF+ project numbers, unique per document index: ``22-010-S04``."""
    block, serial = divmod(index, 40)
    call, year = divmod(block, 6)
    return f"{22 + year}-{call + 1:03d}-S{serial + 1:02d}"


def _case_number(index: int) -> str:
    """A 2014–2020 diarienummer, unique per document index: ``2015/00123``."""
    serial, year = divmod(index, 7)
    return f"{2014 + year}/{serial + 1:05d}"


def _esf_plus(rng: random.Random, index: int, world: _World, traps: Counter[str]) -> Built:
    """An ESF+ 2021–2027 record: label line, value line; cookie banner, title line, summary."""
    rand = rng.random
    number = _plus_number(index)
    national = rand() < RATE_NATIONAL_PLUS
    if national:
        traps["national"] += 1
        owner: Org = world.national_owners.one(rng)
        region_name, nuts = "ESF Nationellt", "SE0"
    else:
        owner = world.owners[world.counties.one(rng)].one(rng)
        nuts = world.region_of_county[owner.county]
        region_name = "Småland & Öarna" if nuts == "SE21" else world.regions[nuts].name
    county = ref.county_by_code(owner.county)
    assert county is not None
    owner_name = owner.name.upper() if rand() < 0.8 else owner.name
    title = _sv_title(rng, owner.city, _county_short(county), False)
    call_year = 2000 + int(number[:2])
    start, end = _period(rng, dt.date(call_year, 1, 1), dt.date(min(call_year + 1, 2028), 12, 1), (6, 48),
                         dt.date(2029, 12, 31))
    rate = Decimal(60 if nuts in ("SE31", "SE32", "SE33") else 50 if national else 40)
    if rand() < 0.05:
        rate = Decimal(("40.5", "59.6", "45", "55.25")[int(rand() * 4)])
    whole, _, fraction = str(rate).partition(".")
    rate_text = whole + ("," + fraction if fraction else "") + ("%" if rand() < 0.8 else "\u00a0%")
    participants = 0 if rand() < 0.1 else 20 + int(rand() ** 2 * 2000)
    objective = _PLUS_OBJECTIVES[int(rand() * len(_PLUS_OBJECTIVES))]
    child = rand() < (0.5 if objective[0] in "CD" else 0.08)
    strategic = rand() < 0.05
    fields: list[tuple[str, str]] = [
        ("Land som berörs", "Sverige"), ("Berörd fond", "ESF+"), ("Program CCI", "2021SE05SFPR"),
        ("Diarienummer", number),
        ("Projektägare organisationsnummer",
         owner.number if rand() < 0.85 else f"{owner.number[:6]}-{owner.number[6:]}"),
        ("Projektägare", owner_name), ("Namn", title), ("Startdatum", start.isoformat()),
        ("Slutdatum", end.isoformat()), ("Unionens medfinansieringsgrad", rate_text),
        ("Programområde", objective[0]), ("Specifikt mål", objective),
        ("Sekundärtema - Motverka barnfattigdom", "Ja" if child else "Nej"), ("Region", region_name),
        ("NUTS-2 kod", nuts), ("Stödmottagare postnr", owner.postal), ("Stödmottagare ort", owner.city.upper()),
        ("Interventionstyp", _PLUS_INTERVENTIONS[int(rand() * len(_PLUS_INTERVENTIONS))]),
        ("Antal deltagare", _group(participants, "\u00a0") if participants >= 1000 and rand() < 0.3
         else str(participants)),
        ("Insats av strategisk betydelse", "Ja" if strategic else "Nej"), ("Projektnummer", number),
    ]
    granted_label = "Beviljat ESF-stöd" if rand() < 0.8 else "Beviljat ESF+-stöd"
    amounts: dict[str, Decimal] = {}
    mismatch = False
    if rand() < RATE_AMOUNTS_PLUS:
        total = int(10 ** (6 + rand() * 1.8))
        share = rate / 100
        mismatch = rand() < RATE_RATE_MISMATCH
        if mismatch:  # the declared rate covers eligible costs only, or other public money came in
            share *= Decimal(str(round(0.75 + rand() * 0.2, 2)))
        granted = int(total * share)
        position = 9 if rand() < 0.5 else len(fields) - 1
        if rand() < 0.95:
            amounts["Total projektbudget"] = Decimal(total)
            fields.insert(position, ("Total projektbudget", _amount(rng, total)))
        if rand() < 0.95 or not amounts:
            amounts[granted_label] = Decimal(granted)
            fields.insert(position, (granted_label, _amount(rng, granted)))
    if rand() < RATE_REORDERED:
        traps["reordered"] += 1
        for _ in range(1 + int(rand() * 4)):
            a = int(rand() * (len(fields) - 1))
            fields[a], fields[a + 1] = fields[a + 1], fields[a]
    if rand() < RATE_TRAILING_MISSING:
        traps["trailing_missing"] += 1
        drop = 1 + int(rand() * 3)
        fields = fields[:-drop] + [f for f in fields[-drop:] if f[0] == "Namn"]
    stated = dict(fields)
    if mismatch and "Total projektbudget" in stated and granted_label in stated:
        traps["rate_mismatch"] += 1
    title_line = rand() >= RATE_NO_TITLE_LINE
    if not title_line:
        traps["no_title_line"] += 1
    inline = rand() < 0.1
    out: list[str] = []
    if rand() < 0.6:
        out += ["information (1)", "Cookies", "", _COOKIE_TEXT, "", "Lär dig mer", ""]
    if title_line:
        out += [f"{number} - {title}", ""]
    for label, value in fields:
        out += [f"{label}: {value}"] if inline else [f"{label}:", value]
    out.append("")
    context = _sv_context(rng, county, owner.city, [m.name for m in world.municipalities_of_county[owner.county][:9]],
                          start.year, participants)
    summary = "\n\n".join(_sv_paragraph(rng, context) for _ in range(2 + int(rand() * 5)))
    out.append(summary)
    text = "\n".join(out) + ("\n" if rand() < 0.5 else "")

    def kept(label: str, value: Any) -> Any:
        return value if label in stated else None

    return text, {
        "source_format": "esf_plus_2021", "title": title,
        "project_number": number if ("Projektnummer" in stated or title_line) else None,
        "case_number": kept("Diarienummer", number), "owner_name": kept("Projektägare", owner_name),
        "owner_org_number": kept("Projektägare organisationsnummer", owner.number),
        "start_date": kept("Startdatum", start), "end_date": kept("Slutdatum", end),
        "granted_amount_sek": amounts.get(granted_label) if granted_label in stated else None,
        "total_budget_sek": amounts.get("Total projektbudget") if "Total projektbudget" in stated else None,
        "eu_cofinancing_rate": kept("Unionens medfinansieringsgrad", (rate / 100).normalize()),
        "participants": kept("Antal deltagare", participants), "region_name": kept("Region", region_name),
        "nuts_code": kept("NUTS-2 kod", nuts), "national": national,
        "municipalities": _prose_municipalities(summary, context, ()),
        "child_poverty_theme": kept("Sekundärtema - Motverka barnfattigdom", child),
        "strategic_importance": kept("Insats av strategisk betydelse", strategic),
        "specific_objective": kept("Specifikt mål", objective),
        "postal_code": kept("Stödmottagare postnr", owner.postal),
        "fund": "ESF+", "programme": kept("Program CCI", "2021SE05SFPR"), "summary": summary,
    }


def _municipality_list(rng: random.Random, world: _World, owner: Org, nuts: str | None,
                       traps: Counter[str]) -> list[str]:
    """The Kommun list: the owner's municipality, some of its county, all of it, or the whole region."""
    rand = rng.random
    county = world.municipalities_of_county[owner.county]
    r = rand()
    if r < 0.12:
        return []
    if nuts is None:  # a national project: municipalities anywhere
        everywhere = ref.municipalities()
        chosen = {everywhere[int(rand() * len(everywhere))].name for _ in range(1 + int(rand() * 12))}
    elif r < 0.45:
        chosen = {(owner.municipality or county[int(rand() * len(county))]).name}
    elif r < 0.8:
        chosen = {county[int(rand() * len(county))].name for _ in range(2 + int(rand() * 7))}
    elif r < 0.93:
        chosen = {m.name for m in county}
    else:
        chosen = {m.name for m in world.municipalities_of_region[nuts]}
    if nuts is not None and rand() < RATE_OUTSIDE_REGION:
        traps["outside_region"] += 1
        others = [code for code in world.municipalities_of_region if code != nuts]
        elsewhere = world.municipalities_of_region[others[int(rand() * len(others))]]
        chosen |= {elsewhere[int(rand() * len(elsewhere))].name for _ in range(1 + int(rand() * 4))}
    if "Malung-Sälen" in chosen and rand() < RATE_FORMER_NAME:
        traps["former_name"] += 1
        chosen.discard("Malung-Sälen")
        chosen.add("Malung")
    return _swedish_sorted(chosen)


def _organisations(rng: random.Random, pick: _Pick, count: int, traps: Counter[str],
                   also: Sequence[str] = ()) -> list[str]:
    names = list(also) + ([o.name for o in pick.some(rng, count)] if count else [])
    return _swedish_sorted(dict.fromkeys(_truncate(rng, name, traps) for name in names))


def _esf_bank(rng: random.Random, index: int, world: _World, traps: Counter[str]) -> Built:
    """A project-bank page: glued labels (2007–2013) or ``Label: value`` (2014–2020), sections, lists."""
    rand = rng.random
    modern = rand() < RATE_BANK_2014
    national = rand() < RATE_NATIONAL_BANK
    nuts: str | None
    if national:
        traps["national"] += 1
        owner: Org = world.national_owners.one(rng)
        nuts, region_name = None, "Nationellt"
    else:
        owner = world.owners[world.counties.one(rng)].one(rng)
        nuts = world.region_of_county[owner.county]
        region_name = "Småland och Öarna" if nuts == "SE21" else world.regions[nuts].name
    county = ref.county_by_code(owner.county)
    assert county is not None
    short = _county_short(county)
    if modern:
        pre_study = rand() < 0.15
        phase = "Analys och planering" if pre_study else "Genomförande"
        area = _BANK_AREAS_2014[int(rand() * (3 if nuts in ("SE22", "SE31", "SE32") else 2))]
        first, last, latest = dt.date(2015, 3, 1), dt.date(2020, 12, 1), dt.date(2023, 6, 30)
    else:
        pre_study = rand() < 0.2
        phase = "Förprojektering" if pre_study else "Genomförande"
        area = _BANK_AREAS_2007[int(rand() * 2)]
        first, last, latest = dt.date(2008, 1, 1), dt.date(2013, 12, 1), dt.date(2015, 6, 30)
    start, end = _period(rng, first, last, (2, 6) if pre_study else (12, 42), latest)
    total = int(10 ** ((5.2 + rand() * 0.8) if pre_study else (6 + rand() * 1.6)))
    granted = int(total * (0.35 + rand() * 0.45))
    cents = int(rand() * 100) if rand() < 0.03 else 0
    person = _person(rng)
    email_text, email = _email(rng, person, owner.domain)
    phone_text, phone = _phone(rng, _COUNTY_FACTS[owner.county][1])
    owner_name = owner.name
    if owner.kind == "municipality" and rand() < 0.3:
        owner_name = owner.name.upper() if rand() < 0.7 or owner.name.startswith("Region") else \
            f"{owner.name} {'KOMMUNKONTOR' if rand() < 0.5 else 'Stadshuset'}"
    title = _sv_title(rng, owner.city, short, pre_study)
    separator = " till " if not modern or rand() < 0.85 else " - "
    fields: list[tuple[str, str]] = [
        ("Programområde", area), ("Projektfas", phase), ("Projektägare", owner_name),
        ("Kontaktperson", person), ("E-post", email_text), ("Telefonnummer", phone_text),
        ("Beviljat ESF-stöd", _amount(rng, granted)), ("Total projektbudget", _amount(rng, total, cents)),
        ("Projektperiod", f"{start.isoformat()}{separator}{end.isoformat()}"), ("Region", region_name),
    ]
    participants = case_number = None
    if modern:
        if rand() < 0.7:
            case_number = _case_number(index)
            fields.insert(1, ("Diarienummer", case_number))
        if not pre_study:
            participants = 10 + int(rand() ** 2 * 600)
            fields.insert(len(fields) - 1, ("Planerat antal deltagare", str(participants)))
    if rand() < 0.08:  # no contact person on the page
        fields = [f for f in fields if f[0] not in ("Kontaktperson", "E-post", "Telefonnummer")]
    if rand() < RATE_REORDERED:
        traps["reordered"] += 1
        a = int(rand() * (len(fields) - 1))
        fields[a], fields[a + 1] = fields[a + 1], fields[a]
    stated = dict(fields)
    municipalities = _municipality_list(rng, world, owner, nuts, traps)
    pick = world.cofinanciers[owner.county]
    co_count = 0 if rand() < 0.15 else 1 + int(rand() ** 1.5 * 14)
    # The owner often co-finances its own project; co-financiers are often partners too.
    co_financiers = _organisations(rng, pick, co_count, traps, (owner.name,) if co_count and rand() < 0.25 else ())
    partners = _organisations(rng, pick, 0 if rand() < 0.3 else int(rand() * 8), traps,
                              [name for name in co_financiers if rand() < 0.4])

    out: list[str] = []
    if rand() < 0.8:
        out += ["Logotyp på utskrifter", "", "Stäng", ""]
    if rand() < 0.7:
        banner = f"{1 + int(rand() * 28)} {_SV_MONTHS[int(rand() * 12)]} - {_WEBINARS[int(rand() * len(_WEBINARS))]}"
        out += [banner, "", "Mer information och anmälan.", ""]
    out += [title, ""]
    out += [f"{label}: {value}" if modern else f"{label}{value}" for label, value in fields]
    if rand() < 0.85:
        out.append("In English")
    out.append("")
    context = _sv_context(rng, county, owner.city, municipalities, start.year, participants or 0)
    scale = 2 + int(rand() * 2) if rand() < RATE_LONG_PAGE else 1
    sections: dict[str, str] = {}
    for heading, chance, (low, high) in _SV_SECTIONS:
        if heading == "Sammanfattning" or rand() < chance:
            count = low + int(rand() * (high * scale - low + 1))
            sections[heading] = "\n\n".join(_sv_paragraph(rng, context) for _ in range(count))
            out += [heading, "", sections[heading], ""]
    for heading, items in (("Medfinansiärer", co_financiers), ("Samarbetspartners", partners),
                           ("Kommun", municipalities)):
        if items:
            out += [heading, ""] + [f" • {item}" for item in items] + [""]
    text = "\n".join(out).rstrip("\n") + ("\n" if rand() < 0.5 else "")
    return text, {
        # A line above the fields that is a web address ("ung.nu") names the site, as in seed 002, not the
        # project: the page states no title then (under "Namn:" on an ESF+ record, it is the title).
        "source_format": "esf_2007", "title": None if title.endswith(".nu") else title, "project_number": None,
        "case_number": case_number,
        "owner_name": owner_name, "owner_org_number": None, "start_date": start, "end_date": end,
        "granted_amount_sek": Decimal(granted), "total_budget_sek": _decimal(total, cents),
        "eu_cofinancing_rate": None, "participants": participants, "region_name": region_name,
        "nuts_code": None, "national": national,
        "municipalities": _prose_municipalities("\n".join(sections.values()), context, municipalities),
        "co_financiers": tuple(co_financiers), "partners": tuple(partners),
        "contact_name": person if "Kontaktperson" in stated else None,
        "contact_email": email if "E-post" in stated else None,
        "contact_phone": phone if "Telefonnummer" in stated else None,
        # The area's code, as the gold convention reads "Programområde 2 Ökat arbetskraftsutbud".
        "project_phase": phase, "programme_area": area.split()[1], "fund": "ESF", "summary": sections["Sammanfattning"],
        "period_2014": modern,
    }


def _partner_search(rng: random.Random, index: int, world: _World, traps: Counter[str]) -> Built:
    """An English partner-search call: tab-indented headings, contact block, project idea, key words."""
    rand = rng.random
    programme, fund, first_year, last_year, months, url, action = _PROGRAMMES[int(rand() * len(_PROGRAMMES))]
    owner: Org = world.call_owners[world.counties.one(rng)].one(rng)
    english = owner.english or owner.name
    if english.startswith("The Municipality of ") and rand() < 0.4:
        municipality = english.removeprefix("The Municipality of ")
        english = f"{municipality} Municipality" if rand() < 0.6 else f"Municipality of {municipality}"
    county = ref.county_by_code(owner.county)
    assert county is not None
    short = _county_short(county)
    year = first_year + int(rand() * (last_year - first_year + 1))
    deadline = dt.date(year, months[int(rand() * len(months))], 1 + int(rand() * 28))
    deadline_text = _english_date(rng, deadline)
    r = rand()
    deadline_line = (f"Deadline for {action}: {deadline_text}" if r < 0.5 else
                     deadline_text if r < 0.8 else f"{deadline_text} (12:00 noon, Brussels time)")
    start_year = year + (1 if deadline.month >= 9 else 0)
    end_year = start_year + 1 + int(rand() * 2)
    start = end = None
    if rand() < 0.15:
        start, end = dt.date(start_year, 9, 1), dt.date(end_year, 8, 31)
        period_text = f"{start.isoformat()} to {end.isoformat()}"
    else:
        period_text = f"{start_year}-{end_year}"  # years only, as most calls write it
    person = _person(rng)
    email_text, email = _email(rng, person, owner.domain)
    phone_text, phone = _phone(rng, _COUNTY_FACTS[owner.county][1], international=0.75)
    title = _EN_TITLE_CORES[int(rand() * len(_EN_TITLE_CORES))] + (f" in {short}" if rand() < 0.3 else "")
    keywords = tuple(dict.fromkeys(_EN_KEYWORDS[int(rand() * len(_EN_KEYWORDS))] for _ in range(3 + int(rand() * 6))))
    group = _EN_GROUPS[int(rand() * len(_EN_GROUPS))]
    themes = rng.sample(_EN_THEMES, 2 + int(rand() * 3))
    heading = {
        "contact": "Contact person" if rand() < 0.8 else "Contact details",
        "organisation": "Organisation" if rand() < 0.8 else "Organization",
        "partners": "Partners searched" if rand() < 0.8 else "Partners sought",
        "keywords": "Key words" if rand() < 0.7 else "Keywords",
        "period": "Project period" if rand() < 0.85 else "Project duration",
    }
    described = rng.sample(_EN_ORG_SENTENCES, 3 + int(rand() * 4))
    organisation = "\n\n".join([f"{english} is located in the County of {short} in Sweden. {described[0]} "
                                f"{described[1]}"] + described[2:])
    organisation = organisation.format(place=owner.city, pop=f"{20 + int(rand() * 300)},000")
    before = deadline - dt.timedelta(days=40 + int(rand() * 40))
    idea = [f"{english} is looking for European partners interested to participate in a project proposal within "
            f"the frame of {action}. The project activities will include the sharing of experiences and exchanging "
            f"of best practices used by staff in different European organisations on how to work with {group}."]
    working_title = rand() < 0.85
    if working_title:
        idea.append(f"Working title: {title}")
    idea.append(f"Background: {themes[0][1]} There is now a need to develop new methods for cooperation, seek common "
                f"approaches and build a common picture of the needs of {group}.")
    idea.append(f"The project will focus on {_NUMBER_WORDS_EN[len(themes)]} themes:")
    idea += [f"· {name}; {sentence}" for name, sentence in themes]
    idea.append(f"Objectives: The goal of the exchange is to look for methods to support {group} and to exchange "
                f"experiences between various sectors. The final result will be a catalogue of guidelines.")
    if rand() < 0.6:
        idea.append(_EN_STAFF)
    idea.append(f"If you find this proposal interesting, please do not hesitate to make contact for further details "
                f"before the {before.day} {_EN_MONTHS[before.month - 1]} {before.year}.")
    contact = [f"Name: {person}", f"Title/profession: {_EN_TITLES[int(rand() * len(_EN_TITLES))]}",
               f"E-mail: {email_text}", f"Telephone: {phone_text}",
               f"Address: {_DEPARTMENTS[int(rand() * len(_DEPARTMENTS))]}, {owner.postal[:3]} {owner.postal[3:]} "
               f"{owner.city}, Sweden", f"Website: www.{owner.domain}"]
    if rand() < 0.2:
        contact.insert(1, f"Organisation: {english}")
    out = [" \tProgramme:", f"\t{programme}", "", "", "", "", "More information:", f"{url} ", "", "",
           "\tDeadline:", f"\t{deadline_line}", "", "", f"\t{heading['contact']}:", "\t" + "\n".join(contact), "", "",
           f"\t{heading['organisation']}", "\t" + organisation, "", ""]
    if not working_title:
        out += ["\tProject title:", f"\t{title}", "", ""]
    out += ["\tProject idea:", "\t" + "\n\n".join(idea), "", "",
            f"\t{heading['partners']}:", f"\t{_EN_PARTNERS[int(rand() * len(_EN_PARTNERS))]}", "",
            f"\t{heading['keywords']}:", "\t" + ", ".join(keywords), "",
            f"\t{heading['period']}:", f"\t{period_text}", ""]
    if rand() < 0.8:
        out += ["\tOther information:", "", f"\t{_EN_OTHER[int(rand() * len(_EN_OTHER))]} "]
    return "\n".join(out), {
        "source_format": "partner_search", "title": title, "project_number": None, "case_number": None,
        # Names as written without a leading article ("The Municipality of X" is "Municipality of X").
        "owner_name": english.removeprefix("The "), "owner_org_number": None, "start_date": start, "end_date": end,
        "period_text": period_text, "deadline": deadline, "fund": fund, "programme": programme,
        "keywords": keywords, "contact_name": person, "contact_email": email, "contact_phone": phone,
        "postal_code": owner.postal, "city": owner.city, "national": False, "municipalities": (),
        "granted_amount_sek": None, "total_budget_sek": None,
    }


_BUILDERS = {"esf_plus_2021": _esf_plus, "esf_2007": _esf_bank, "partner_search": _partner_search}


# --- the public interface --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Document:
    """One generated source text, its file name, and the facts the generator put into it.

    ``facts`` uses the :class:`~kgbuild.records.ProjectRecord` field names for what the parser should
    read back (``title``, ``owner_name``, ``start_date``, ``granted_amount_sek``, ``municipalities``...),
    plus ``source_format``, ``case_number``, ``national`` and ``traps``: how many times each real-data
    trap occurs in the text (``national``, ``outside_region``, ``former_name``, ``truncated_name``...).
    """

    name: str
    text: str
    facts: dict[str, Any]


def _document(seed: int, index: int) -> Document:
    rng = random.Random((seed << 32) + index)
    r = rng.random()
    source_format = MIX[-1][0]
    cumulative = 0.0
    for name, share in MIX:
        cumulative += share
        if r < cumulative:
            source_format = name
            break
    traps: Counter[str] = Counter()
    text, facts = _BUILDERS[source_format](rng, index, _world(), traps)
    facts["traps"] = dict(traps)
    return Document(f"{_PREFIX[source_format]}-{index + 1:06d}.txt", text, facts)


def generate_documents(count: int, seed: int = 1) -> Iterator[Document]:
    """Documents ``0 .. count-1`` of the corpus of ``seed``, each with the facts it states.

    :param count: how many documents (>= 0).
    :param seed: the corpus; document ``i`` depends only on ``(seed, i)``.
    :raises ValueError: for a negative count.

    >>> [d.name for d in generate_documents(3)]
    ['esfplus-000001.txt', 'esfplus-000002.txt', 'call-000003.txt']
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, not {count}")
    for index in range(count):
        yield _document(seed, index)


def generate_texts(count: int, seed: int = 1) -> Iterator[tuple[str, str]]:
    """``(file name, text)`` of documents ``0 .. count-1``: the corpus without touching the disk."""
    for document in generate_documents(count, seed):
        yield document.name, document.text


def _write(path: Path, text: str) -> int:
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return len(data)


def write_corpus(count: int, out_dir: Path, seed: int = 1) -> tuple[int, int]:
    """Write the corpus to ``out_dir`` one file at a time, keeping no list: return (files, bytes)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    size = 0
    for name, text in generate_texts(count, seed):
        size += _write(out_dir / name, text)
    return count, size


def generate(count: int, out_dir: Path, seed: int = 1) -> list[Path]:
    """Write ``count`` source files to ``out_dir`` (created if missing) and return their paths, in order.

    Each file is written as it is generated. The same ``(count, seed)`` always gives byte-identical
    files; names are unique (``esfplus-000001.txt``, ``bank-000007.txt``, ``call-000003.txt``...).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in generate_texts(count, seed):
        path = out_dir / name
        _write(path, text)
        paths.append(path)
    return paths


def corpus_stats(documents: Sequence[Document]) -> dict[str, Any]:
    """The format mix, the share of documents of each format carrying each trap, and the size."""
    formats = Counter(d.facts["source_format"] for d in documents)
    with_trap: dict[str, Counter[str]] = {}
    for d in documents:
        for trap in d.facts["traps"]:
            with_trap.setdefault(trap, Counter())[d.facts["source_format"]] += 1
    sizes = sorted(len(d.text.encode("utf-8")) for d in documents) or [0]
    return {
        "documents": len(documents),
        "formats": {fmt: f"{n} ({n / len(documents):.1%})" for fmt, n in sorted(formats.items())},
        "traps": {trap: {fmt: f"{n / formats[fmt]:.1%}" for fmt, n in sorted(by.items())}
                  for trap, by in sorted(with_trap.items())},
        "bytes": {"total": sum(sizes), "median": sizes[len(sizes) // 2], "max": sizes[-1]},
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.corpus --count 1000 --out DIR [--seed 1] [--stats]``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.corpus",
        description="Write a seeded corpus of realistic ESF+, ESF project-bank and partner-search texts.",
        epilog="example: python -m benchmarks.corpus --count 10000 --out /tmp/corpus-10k --stats")
    parser.add_argument("--count", type=int, required=True, help="number of documents to write")
    parser.add_argument("--out", type=Path, required=True, help="directory to write them to (created if missing)")
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same files (default: 1)")
    parser.add_argument("--stats", action="store_true",
                        help="print the format mix and trap rates (of the first 20,000 documents) as JSON")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be >= 0")
    began = time.perf_counter()
    files, size = write_corpus(args.count, args.out, args.seed)
    took = time.perf_counter() - began
    print(f"wrote {files:,} files ({size / 1e6:.1f} MB) to {args.out} in {took:.2f} s "
          f"({files / took if took else 0:,.0f} documents/s)", file=sys.stderr)
    if args.stats:
        sample = list(generate_documents(min(args.count, 20_000), args.seed))
        print(json.dumps(corpus_stats(sample), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
