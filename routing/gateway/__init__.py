"""An OpenAI-compatible API in front of routing: any OpenAI client can go through policies."""
