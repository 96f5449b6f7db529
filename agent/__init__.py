"""The ranking agent: candidates, prompts to a local LLM, ranking, explanations."""
