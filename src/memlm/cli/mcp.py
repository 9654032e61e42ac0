"""`memlm mcp`: serve memory to MCP clients (Claude Desktop, IDEs, agents) over stdio."""

from __future__ import annotations

import click

from memlm.cli.common import db_options, errors_as_messages, open_memory


@click.command()
@db_options
@errors_as_messages
def mcp(db, encoder):
    """Serve the Model Context Protocol over stdio: add_memory, search_memory, get_context, delete_memory."""
    try:
        from memlm.mcp_tools import build_server
    except ImportError:  # pragma: no cover - the extra is part of the test install
        raise ValueError("memlm mcp needs the MCP SDK: pip install 'memlm[mcp]'") from None
    memory = open_memory(db, encoder)
    try:
        memory.store  # open the database now: a bad --db or --encoder is a one-line error, not a failed tool call
        build_server(memory).run("stdio")
    finally:
        memory.close()
