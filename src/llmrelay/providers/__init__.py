"""Provider adapters: one package per provider, each pure translation over plain dicts."""
