"""Data: MovieLens from the installed packages, a user's own scenes from CSV/JSONL, and
the split of a catalogue into scenes."""

from core.data.dataset import Dataset
from core.data.importer import import_dataset
from core.data.movielens import MOVIELENS, load_dataset
from core.data.scenes import SceneMap, scene_overview, split_by_genre

__all__ = [
    "MOVIELENS",
    "Dataset",
    "SceneMap",
    "import_dataset",
    "load_dataset",
    "scene_overview",
    "split_by_genre",
]
