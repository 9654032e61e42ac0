"""`memlm mcp`: serve memory to MCP clients (Claude Desktop, IDEs, agents) over stdio."""

from __future__ import annotations

import click

from memlm.cli.common import db_options, errors_as_messages


@click.command()
@db_options
@click.option("--tenant", envvar="MEMLM_TENANT", default=None,
              help="Tenant whose memories the tools read and write (default: default) [env MEMLM_TENANT]")
@click.option("--server", "server_url", envvar="MEMLM_SERVER_URL", default=None,
              help="Serve a memlm server's memories (its URL; the key in $MEMLM_API_KEY picks the tenant) "
                   "instead of a local file [env MEMLM_SERVER_URL]")
@errors_as_messages
def mcp(db, encoder, tenant, server_url):
    """Serve the Model Context Protocol over stdio: add, search, context, list, get, update, history, delete."""
    try:
        from memlm.mcp_tools import build_server
    except ImportError:  # pragma: no cover - the extra is part of the test install
        raise ValueError("memlm mcp needs the MCP SDK: pip install 'memlm[mcp]'") from None
    if server_url:
        if db or tenant:
            raise ValueError("--server serves a memlm server's memories: --db and --tenant do not apply "
                             "(the API key decides the tenant)")
        from memlm.client import Client

        backend = Client(server_url)
    else:
        from memlm.config import MemoryConfig, default_db_path
        from memlm.engine import Memory

        backend = Memory(db or default_db_path(), encoder=encoder,
                         config=MemoryConfig(tenant=tenant) if tenant else None)
    try:
        build_server(backend).run("stdio")
    finally:
        backend.close()
