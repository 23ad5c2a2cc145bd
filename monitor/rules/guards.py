"""Topic guards: shipped definitions of topics a watch can refuse to be about.

A watch lists guards by name (``guards: [sport, travel]``) instead of writing
long ``exclude`` queries. A guard is a query for its topic's vocabulary; it
*vetoes* a match when its topic is at least as prominent in the entry as the
watch's own (its focus, see :mod:`monitor.rules.focus`, is at least the
watch's) and prominent in its own right (at least the ``guard_min_focus`` of
:class:`~monitor.rules.settings.RuleSettings`, 0.5 by default).

So "US, Canada and Mexico face measles outbreaks" stops a Canada–Mexico watch
guarded by ``health`` (measles in the headline, as prominent as the two
countries), while a trade story that mentions the World Cup in passing, deep
in its body, does not (0.1 against the watch's headline 1.0). An ``exclude``
query drops an entry on any mention; a guard weighs the two topics.

The vocabularies are words that name the topic itself, in English, French and
Spanish, chosen not to occur in trade and policy copy for other reasons
("border", "food", "forecast", "medical" are left out on purpose). Forms
(``+``) rather than prefixes (``*``) keep them from catching other words.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

GUARDS = MappingProxyType(
    {
        "sport": (
            "sport OR sports OR athlete+ OR tournament+ OR championship+ OR playoff+ "
            'OR "World Cup" OR "Coupe du monde" OR "Copa del Mundo" OR "Copa Mundial" OR Mundial '
            "OR FIFA OR Olympic+ OR Olympics OR olympique+ OR NHL OR NBA OR NFL OR MLB OR MLS "
            "OR hockey OR soccer OR football OR fútbol OR futbol OR baseball OR basketball "
            "OR goalkeeper+ OR striker+ OR quarterback+ OR stadium+ OR estadio+ OR golf OR tennis"
        ),
        "travel": (
            "travel+ OR traveler+ OR traveller+ OR tourist+ OR tourism OR vacation+ "
            "OR roaming OR airline+ OR airport+ OR flight+ OR hotel+ OR resort+ OR cruise+ "
            'OR itinerary OR itineraries OR "travel plan" OR turismo OR turista+ OR viaje+ '
            "OR tourisme OR touriste+ OR vacances OR vacaciones OR aeropuerto+ OR aéroport+"
        ),
        "weather": (
            "weather OR storm+ OR hurricane+ OR tornado+ OR blizzard+ OR snowstorm+ OR heatwave+ "
            'OR "heat wave" OR wildfire+ OR flood+ OR flooding OR rainfall OR snowfall OR '
            "huracán OR huracan OR tormenta+ OR inundación OR inundaciones OR météo OR tempête+ "
            "OR ouragan+ OR inondation+ OR canicule"
        ),
        "health": (
            "measles OR outbreak+ OR vaccine+ OR vaccination+ OR vaccinated OR epidemic+ "
            "OR pandemic+ OR virus OR viruses OR infection+ OR infectious OR disease+ "
            'OR "public health" OR hospital+ OR patient+ OR COVID OR influenza OR flu OR cancer '
            "OR sarampión OR sarampion OR brote+ OR vacuna+ OR rougeole OR épidémie+ OR vaccin+ "
            "OR hôpital OR hôpitaux OR hospitalización OR enfermedad+"
        ),
        "immigration": (
            "immigration OR immigrant+ OR migrant+ OR migration OR asylum OR deportation+ "
            'OR deport+ OR refugee+ OR undocumented OR "Border Patrol" OR inmigración OR '
            "inmigrante+ OR migración OR migrante+ OR deportación OR deportaciones OR asilo "
            "OR immigré+ OR immigrés OR réfugié+ OR demandeur+ OR demandeurs"
        ),
        "food": (
            "restaurant+ OR chef+ OR recipe+ OR cuisine OR menu+ OR dish+ OR dishes OR taco+ "
            "OR dining OR diner+ OR foodie+ OR bakery OR bakeries OR cocktail+ OR brunch "
            "OR restaurante+ OR gastronomía OR gastronomie OR receta+ OR recette+ OR platillo+"
        ),
        "markets": (
            # Market reports, where "trade" is the day's trading, not commerce between countries.
            '"early trade" OR "late trade" OR "active trade" OR "quiet trade" OR "light trade" '
            'OR "heavy trade" OR "midday trade" OR "trading session" OR "stock market" '
            'OR "stock exchange" OR "bond market" OR bond+ OR stocks OR shares OR equities '
            'OR eurobond+ OR "Dow Jones" OR Nasdaq OR TSX OR "S&P 500" OR Bourse OR "Bolsa Mexicana" '
            "OR traders OR dealers"
        ),
        "entertainment": (
            "movie+ OR film+ OR actor+ OR actress+ OR celebrity OR celebrities OR album+ "
            'OR concert+ OR singer+ OR Netflix OR Hollywood OR "box office" OR festival+ '
            "OR sitcom+ OR Oscar+ OR Grammy+ OR película+ OR cine OR cinéma OR chanteur+ "
            "OR chanteuse+ OR cantante+"
        ),
    }
)
"""Each guard's name and the query for its topic."""


def terms_query(terms: Iterable[str]) -> str:
    """The query for a guard given as a list of terms: any of them, a term of several
    words as a phrase (``World Cup`` is ``"World Cup"``)."""
    return " OR ".join(_term(term) for term in terms)


def _term(term: str) -> str:
    text = term.strip()
    if len(text.split()) > 1 and not text.startswith('"'):
        return f'"{text}"'
    return text
