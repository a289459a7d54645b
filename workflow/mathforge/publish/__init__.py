"""Publishing: the SFT shards as Hub-ready dataset folders (splits, card metadata, statistics) and
as the JSONL forms trainers read (chat messages, NeMo-Skills input/output, chat-template text)."""
