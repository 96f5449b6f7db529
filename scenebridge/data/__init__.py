"""Data: MovieLens from the installed packages, a user's own scenes from CSV/JSONL, and
the split of a catalogue into scenes."""

from scenebridge.data.dataset import Dataset
from scenebridge.data.importer import import_dataset
from scenebridge.data.movielens import MOVIELENS, load_dataset
from scenebridge.data.scenes import SceneMap, scene_overview, split_by_genre

__all__ = [
    "MOVIELENS",
    "Dataset",
    "SceneMap",
    "import_dataset",
    "load_dataset",
    "scene_overview",
    "split_by_genre",
]
