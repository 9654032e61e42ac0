"""`memlm mcp`: serve memory to MCP clients (Claude Desktop, IDEs, agents) over stdio."""

from __future__ import annotations

import click

from memlm.cli.common import db_options, errors_as_messages, open_memory, settings


@click.command()
@db_options
@click.option("--server", "server_url", default=None,
              help="Serve a memlm server's memories (its URL; the key in $MEMLM_API_KEY picks the tenant) "
                   "instead of a local file [env MEMLM_SERVER_URL]")
@errors_as_messages
def mcp(db, encoder, server_url):
    """Serve the Model Context Protocol over stdio: add (with expiry), search, context, list, get, update,
    history, delete, forget (dry run first), purge."""
    try:
        from memlm.mcp_tools import build_server
    except ImportError:  # pragma: no cover - the extra is part of the test install
        raise ValueError("memlm mcp needs the MCP SDK: pip install 'memlm[mcp]'") from None
    s = settings(db, encoder)
    server_url = server_url or s.server_url
    if server_url:
        if db or s.tenant != "default":
            raise ValueError("--server serves a memlm server's memories: --db and --tenant do not apply "
                             "(the API key decides the tenant)")
        from memlm.client import Client

        backend = Client(server_url, api_key=s.api_key)
    else:
        backend = open_memory(db, encoder)
        backend.open()  # open the database now: a bad --db or --encoder is a one-line error, not a failed tool call
    try:
        build_server(backend).run("stdio")
    finally:
        backend.close()
