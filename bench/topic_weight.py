"""The topic's fusion weight (agent/topic.py TOPIC_WEIGHT), chosen on hand-judged topic requests.

    .venv/bin/python bench/topic_weight.py [--store ~/.cache/scenebridge/store] [--weights 0 0.25 0.5 ...]

Six topics people ask the chat for ("time travel", "robots", "set in space", "alien invasion",
"dystopian future", "giant monsters"), each with the ML-1M Sci-Fi titles that are about it, judged
by hand from what the films are (not from their documents: 143 of the 245 have no description),
and eight people described by the comedies they like, four for validation and four held out.
Each person asks each topic; the service (no model server, the default ranker) answers with the
topic fused at each weight. Per weight: the share of the top 5 and top 10 that are about the
topic, and how many of the backbone's own top 10 (weight 0) stay in the top 10. The weight chosen
has the best precision@10 on the validation people among those keeping at least half of the
backbone's top 10 (so the backbone still ranks); the held-out people show what it does.

Also the topic alone (its cosine over the whole scene, no backbone): precision@10 with the items
centred on the scene's mean and raw, which is why ``Topic`` centres.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
from pathlib import Path

import numpy as np

from agent.candidates import UserEvidence, load_scene_data
from agent.candidates.evidence import resolve
from agent.requests import RecommendRequest
from agent.service import open_service
from agent.topic import TOPIC_WEIGHT, Topic
from core.settings import get_settings

TARGET = "Sci-Fi"
JUDGED: dict[str, set[str]] = {
    "time travel": {
        "Terminator, The (1984)", "Terminator 2: Judgment Day (1991)", "Twelve Monkeys (1995)",
        "Star Trek IV: The Voyage Home (1986)", "Time Bandits (1981)", "Star Trek: First Contact (1996)",
        "Planet of the Apes (1968)", "Escape from the Planet of the Apes (1971)", "Timecop (1994)",
        "Freejack (1992)", "Retroactive (1997)", "Time Masters (Les Maîtres du Temps) (1982)",
        "Time Tracers (1995)", "Sticky Fingers of Time, The (1997)", "Navigator: A Mediaeval Odyssey, The (1988)",
        "Flight of the Navigator (1986)"},
    "robots": {
        "Terminator, The (1984)", "Terminator 2: Judgment Day (1991)", "Star Wars: Episode IV - A New Hope (1977)",
        "Star Wars: Episode V - The Empire Strikes Back (1980)", "Star Wars: Episode VI - Return of the Jedi (1983)",
        "Star Wars: Episode I - The Phantom Menace (1999)", "Robocop (1987)", "Robocop 2 (1990)", "Robocop 3 (1993)",
        "Blade Runner (1982)", "Westworld (1973)", "Black Hole, The (1979)", "Saturn 3 (1979)", "Runaway (1984)",
        "Chopping Mall (a.k.a. Killbots) (1986)", "Transformers: The Movie, The (1986)", "Screamers (1995)",
        "Stepford Wives, The (1975)", "Metropolis (1926)", "Forbidden Planet (1956)",
        "Day the Earth Stood Still, The (1951)", "Lost in Space (1998)", "Star Kid (1997)",
        "Ghost in the Shell (Kokaku kidotai) (1995)", "Universal Soldier (1992)"},
    "set in space": {
        "Star Wars: Episode IV - A New Hope (1977)", "Star Wars: Episode V - The Empire Strikes Back (1980)",
        "Star Wars: Episode VI - Return of the Jedi (1983)", "Star Wars: Episode I - The Phantom Menace (1999)",
        "Alien (1979)", "Aliens (1986)", "Alien³ (1992)", "Alien: Resurrection (1997)", "2001: A Space Odyssey (1968)",
        "2010 (1984)", "Star Trek: The Wrath of Khan (1982)", "Star Trek VI: The Undiscovered Country (1991)",
        "Star Trek: Generations (1994)", "Star Trek III: The Search for Spock (1984)", "Star Trek: Insurrection (1998)",
        "Star Trek: The Motion Picture (1979)", "Star Trek V: The Final Frontier (1989)", "Starship Troopers (1997)",
        "Armageddon (1998)", "Event Horizon (1997)", "Lost in Space (1998)", "Mission to Mars (2000)",
        "Pitch Black (2000)", "Titan A.E. (2000)", "Supernova (2000)", "Solaris (Solyaris) (1972)",
        "Black Hole, The (1979)", "Saturn 3 (1979)", "Dune (1984)", "Space Cowboys (2000)", "Wing Commander (1999)",
        "Forbidden Planet (1956)", "Barbarella (1968)", "Rocketship X-M (1950)", "Destination Moon (1950)",
        "Project Moon Base (1953)", "Fifth Element, The (1997)", "Moonraker (1979)", "Fantastic Planet, The (La Planète "
        "sauvage) (1973)", "Light Years (1988)"},
    "alien invasion": {
        "Independence Day (ID4) (1996)", "War of the Worlds, The (1953)", "Invasion of the Body Snatchers (1956)",
        "Body Snatchers (1993)", "Starship Troopers (1997)", "Earth Vs. the Flying Saucers (1956)",
        "It Came from Outer Space (1953)", "It Conquered the World (1956)", "Village of the Damned (1960)",
        "Village of the Damned (1995)", "Children of the Damned (1963)", "Faculty, The (1998)",
        "Robert A. Heinlein's The Puppet Masters (1994)", "Arrival, The (1996)", "Plan 9 from Outer Space (1958)",
        "Lifeforce (1985)", "Battlefield Earth (2000)", "Thing, The (1982)", "Thing From Another World, The (1951)",
        "Quatermass II (1957)", "Quatermass and the Pit (1967)", "Devil Girl From Mars (1954)", "Hidden, The (1987)",
        "Species (1995)", "Species II (1998)"},
    "dystopian future": {
        "Blade Runner (1982)", "Brazil (1985)", "Clockwork Orange, A (1971)", "Gattaca (1997)",
        "Nineteen Eighty-Four (1984)", "Logan's Run (1976)", "Soylent Green (1973)", "Running Man, The (1987)",
        "Demolition Man (1993)", "Escape from New York (1981)", "Escape from L.A. (1996)", "Mad Max (1979)",
        "Mad Max 2 (a.k.a. The Road Warrior) (1981)", "Mad Max Beyond Thunderdome (1985)", "Judge Dredd (1995)",
        "Metropolis (1926)", "Alphaville (1965)", "Matrix, The (1999)", "Twelve Monkeys (1995)", "Robocop (1987)",
        "Total Recall (1990)", "Johnny Mnemonic (1995)", "Strange Days (1995)", "Akira (1988)",
        "Omega Man, The (1971)", "Freejack (1992)", "No Escape (1994)", "Barb Wire (1996)", "Dark City (1998)"},
    "giant monsters": {
        "Jurassic Park (1993)", "Lost World: Jurassic Park, The (1997)", "Carnosaur (1993)", "Carnosaur 2 (1995)",
        "Carnosaur 3: Primal Species (1996)", "Godzilla (1998)", "Godzilla (Gojira) (1954)", "Godzilla (Gojira) (1984)",
        "Godzilla 2000 (Gojira ni-sen mireniamu) (1999)", "King Kong vs. Godzilla (Kingukongu tai Gojira) (1962)",
        "Them! (1954)", "Tarantula (1955)", "Giant Gila Monster, The (1959)", "Deep Blue Sea (1999)",
        "Alligator (1980)", "Killer Shrews, The (1959)", "It Came from Beneath the Sea (1955)",
        "Mighty Peking Man (Hsing hsing wang) (1977)", "Abominable Snowman, The (1957)", "Mimic (1997)",
        "Blob, The (1958)", "Deep Rising (1998)"},
}
VALIDATION = [["Groundhog Day (1993)", "Annie Hall (1977)"], ["Big Lebowski, The (1998)", "Raising Arizona (1987)"],
              ["Some Like It Hot (1959)"], ["Toy Story (1995)", "Big (1988)"]]
HELD_OUT = [["Airplane! (1980)", "Young Frankenstein (1974)"], ["Clueless (1995)", "Office Space (1999)"],
            ["American Pie (1999)", "Liar Liar (1997)"], ["Ghostbusters (1984)", "Princess Bride, The (1987)"]]
GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


async def measure(store: Path, people: list[list[str]], weights: tuple[float, ...]) -> dict[float, dict[str, float]]:
    figures: dict[float, dict[str, list[float]]] = {w: {"p@5": [], "p@10": [], "kept@10": []} for w in weights}
    async with open_service(store, use_llm=False) as service:
        for likes in people:
            for topic, about in JUDGED.items():
                request = RecommendRequest(likes=likes, target_scene=TARGET, k=10, explain=False, topic=topic)
                backbone = None
                for weight in sorted(weights):
                    service.recommender.topic_weight = weight
                    top = [i.item_id for i in (await service.recommend(request)).items]
                    backbone = top if backbone is None else backbone
                    figures[weight]["p@5"].append(len(set(top[:5]) & about) / 5)
                    figures[weight]["p@10"].append(len(set(top) & about) / 10)
                    figures[weight]["kept@10"].append(len(set(top) & set(backbone)) / 10)
        service.recommender.topic_weight = TOPIC_WEIGHT
    return {w: {name: float(np.mean(values)) for name, values in f.items()} for w, f in figures.items()}


def choose(figures: dict[float, dict[str, float]]) -> float:
    """The weight with the best precision@10 among those that keep at least half of the
    backbone's top 10 (on a tie, the smaller)."""
    fine = [(f["p@10"], -w) for w, f in figures.items() if f["kept@10"] >= 0.5]
    return -max(fine)[1]


def topic_alone(store: Path) -> dict[str, dict[str, float]]:
    """Precision@10 of the topic's own cosine over the whole Sci-Fi scene, centred and raw."""
    from retrievers import Retriever, SceneStore

    data = load_scene_data(Retriever(SceneStore(store)))
    query = resolve(data, UserEvidence(source_scene="Comedy", target_scene=TARGET))
    items = data.scene(TARGET).items
    out = {}
    for topic, about in JUDGED.items():
        out[topic] = {}
        for center in (True, False):
            scores = Topic(text=topic, center=center).score(data, query)
            top = {str(items[n]) for n in np.argsort(-scores, kind="stable")[:10]}
            out[topic]["centred" if center else "raw"] = len(top & about) / 10
        out[topic]["judged"] = len(about & set(items.tolist())) / len(items)
    return out


def table(figures: dict[float, dict[str, float]]) -> str:
    rows = ["| weight | precision@5 | precision@10 | backbone's top 10 kept |", "|---:|---:|---:|---:|"]
    rows += [f"| {w:g} | {f['p@5']:.2f} | {f['p@10']:.2f} | {f['kept@10']:.2f} |" for w, f in sorted(figures.items())]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=get_settings().store_path)
    parser.add_argument("--weights", type=float, nargs="+", default=list(GRID))
    args = parser.parse_args()
    weights = tuple(sorted(set(args.weights) | {0.0}))

    alone = topic_alone(args.store)
    print(f"Machine: {platform.machine()}, Python {platform.python_version()}; store {args.store}; "
          f"{len(JUDGED)} topics x {len(VALIDATION)} validation + {len(HELD_OUT)} held-out people\n")
    print("The topic alone, precision@10 over the whole Sci-Fi scene (judged: the share of the scene about it):\n")
    print("| topic | centred | raw | judged |\n|---|---:|---:|---:|")
    for topic, f in alone.items():
        print(f"| {topic} | {f['centred']:.1f} | {f['raw']:.1f} | {f['judged']:.2f} |")
    validation = asyncio.run(measure(args.store, VALIDATION, weights))
    chosen = choose(validation)
    print(f"\nValidation people, fused with the backbone (k = 10):\n\n{table(validation)}\n\nChosen: {chosen:g} "
          f"(the best precision@10 keeping half the backbone's top 10; agent/topic.py has {TOPIC_WEIGHT:g}).")
    held_out = asyncio.run(measure(args.store, HELD_OUT, (0.0, chosen)))
    print(f"\nHeld-out people:\n\n{table(held_out)}")


if __name__ == "__main__":
    main()
