"""What a caller asks the agent and what it gets back (domain models; the HTTP layer has its own
wire models, which narrow ``RecommendQuery`` and copy ``Recommendation`` field for field)."""

from __future__ import annotations

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from agent.rankers import LLM_RANKERS, OutputErrors, PromptInfo
from agent.topic import MAX_TOPIC_CHARS
from core.errors import ParamError

# How to fix a blank name, by field (front-ends name the field: ParamError).
NAME_FIXES = {
    "user_id": "give a user of the dataset (ML-1M: 1m_1), or leave user_id out and give likes",
    "target_scene": "name the scene to recommend in (e.g. Sci-Fi)",
    "source_scene": "name the scene of the person's tastes, or leave source_scene out",
    "likes": "give a title the person likes",
}


def check_name(field: str, value: str | None, fix: str | None = None) -> str | None:
    """``value`` unless it is empty or only spaces: then a ParamError naming ``field`` and saying
    how to fix it (``fix``, else NAME_FIXES')."""
    if value is not None and not value.strip():
        raise ParamError(field, f"{field} is empty: {fix or NAME_FIXES.get(field, 'give a value or leave it out')}")
    return value


class RecommendQuery(BaseModel):
    """What any front-end lets a person ask: for whom (a user of the data, or liked titles), in
    which scenes, among which items, how many, ranked and explained how."""

    user_id: str | None = Field(default=None, description="A user of the dataset (ML-1M: 1m_1).")
    likes: list[str] = Field(default_factory=list, description="Titles a person likes, for someone "
                             "not in the data.")
    target_scene: str
    source_scene: str | None = Field(default=None, description="Default: the store's source scene.")
    candidates: list[str] | None = Field(default=None, description="Item ids to rank; default: generated.")
    exclude: list[str] = Field(default_factory=list, description="Item ids never to recommend.")
    k: int = Field(default=10, ge=1, le=100)
    explain: bool = True
    ranker: str | None = Field(default=None, description="One of agent.rankers.RANKERS; default: the "
                               "store's default ranker, the one that won on validation users "
                               "(scenebridge info shows it).")

    @field_validator("user_id", "target_scene", "source_scene")
    @classmethod
    def _named(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_name(info.field_name, value)

    @field_validator("likes")
    @classmethod
    def _titles(cls, value: list[str]) -> list[str]:
        for n, title in enumerate(value):
            if not title.strip():
                raise ParamError(f"likes[{n}]", f"likes[{n}] is empty: {NAME_FIXES['likes']}")
        return value

    @model_validator(mode="after")
    def _one_person(self) -> RecommendQuery:
        if self.user_id is None and not self.likes:
            raise ParamError("user_id", "give user_id (a user of the dataset) or likes (titles the person likes)")
        if self.user_id is not None and self.likes:
            raise ParamError("user_id", "give either user_id or likes (titles the person likes), not both")
        return self


class RecommendRequest(RecommendQuery):
    """A query plus how much work the agent puts into it (the CLI and the evaluations set these;
    the HTTP server keeps the defaults)."""

    n_candidates: int = Field(default=20, ge=2, le=100, description="Candidates generated for the ranker.")
    withhold: list[str] = Field(default_factory=list, description="The person's own items left out of their "
                                "history (an evaluation's held-out item: neither the ranking nor the explanation "
                                "may see it).")
    permutations: int = Field(default=1, ge=1, le=10)
    topic: str | None = Field(default=None, description="What the picks should be about (\"time travel\", "
                              "\"thoughtful\"): matched to the items' documents and fused with the backbone's "
                              "scores (agent/topic.py).")

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ParamError("topic", "topic is empty: say what the picks should be about, or leave topic out")
        if len(value) > MAX_TOPIC_CHARS:
            raise ParamError("topic", f"topic is {len(value)} characters long: say it in at most {MAX_TOPIC_CHARS}")
        return value.strip()


class RecommendedItem(BaseModel):
    item_id: str
    title: str
    rank: int
    score: float
    explanation: str | None = None
    evidence: list[str] = Field(default_factory=list, description="Ids of the user's items it rests on.")
    explanation_source: str | None = Field(default=None, description="'llm' or 'evidence'.")


class Recommendation(BaseModel):
    user: str | None
    likes: list[str] = Field(default_factory=list)
    target_scene: str
    source_scene: str
    items: list[RecommendedItem]
    ranker: str
    prompt: PromptInfo | None = None
    model: str | None = None
    fallback: str | None = Field(default=None, description="Why candidate scores ranked instead of the LLM.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds per step.")
    candidates: int = 0
    errors: OutputErrors = Field(default_factory=OutputErrors)
    dropped_citations: int = 0

    @property
    def working_model(self) -> str | None:
        """``model`` where it did work on this answer: it ranked (no fallback) or worded an
        explanation. The backbone with evidence sentences calls no model: None, whatever is served."""
        worked = (self.ranker in LLM_RANKERS and not self.fallback) or any(
            i.explanation_source == "llm" for i in self.items)
        return self.model if worked else None
