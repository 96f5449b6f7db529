"""What the chat layer knows of a store, built once at start-up: the title index, the scene
names, every item by id, and each scene's items by popularity."""

from __future__ import annotations

from dataclasses import dataclass

from agent.candidates import load_scene_data
from core.domain import Item
from retrievers import Retriever
from scenebridge.server.chat.parse import MessageParser
from scenebridge.server.chat.scenes import SceneNames
from scenebridge.server.chat.titles import TitleIndex


@dataclass
class ChatCatalogue:
    retriever: Retriever
    items: dict[str, Item]
    popular: dict[str, list[str]]  # scene -> item ids, most interactions first
    index: TitleIndex
    scenes: SceneNames
    parser: MessageParser

    @classmethod
    def build(cls, retriever: Retriever) -> ChatCatalogue:
        items = {i.item_id: i for i in retriever.catalogue()}
        data = load_scene_data(retriever)
        popularity: dict[str, int] = {}
        popular: dict[str, list[str]] = {}
        for scene in retriever.scenes:
            matrix = data.scene(scene)
            counts = dict(zip(matrix.items.tolist(), matrix.popularity.tolist(), strict=True))
            popularity.update(counts)
            popular[scene] = sorted(counts, key=lambda i: (-counts[i], i))
        index = TitleIndex.build(list(items.values()), popularity)
        scenes = SceneNames(retriever.scenes)
        parser = MessageParser(index, scenes, list(items.values()), retriever.resolve)
        return cls(retriever, items, popular, index, scenes, parser)

    def scene_items(self, scene: str) -> list[Item]:
        return [self.items[i] for i in self.popular.get(scene, []) if i in self.items]

    def default_target(self, likes: list[Item]) -> str:
        """The store's target scene, or the scene none of the liked titles is in."""
        target = self.retriever.info.target
        liked = {i.scene for i in likes}
        if target in self.retriever.scenes and liked != {target}:
            return target
        others = [s for s in self.retriever.scenes if s not in liked]
        return others[0] if others else self.retriever.scenes[0]
