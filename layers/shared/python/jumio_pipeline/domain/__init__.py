"""The domain: what a session, a capture, prepared data and an erasure request are, and the
rules they follow. Pure Python (pydantic, Pillow, the stdlib): no AWS SDK, no HTTP client, no
Powertools, so every rule here is testable without a cloud or a network."""
