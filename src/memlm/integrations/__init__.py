"""Adapters to agent frameworks, each an optional extra (docs/integrations.md):

- `memlm.integrations.langgraph.MemlmStore`: a LangGraph `BaseStore` (`pip install 'memlm[langgraph]'`)
- `memlm.integrations.langchain`: a retriever and a chat-message history (`pip install 'memlm[langchain]'`)

Each works over a local `Memory`, a `Client` or (where async) an `AsyncClient`.
"""
