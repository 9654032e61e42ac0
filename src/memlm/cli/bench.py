"""`memlm bench ...`: benchmarks that print figures (JSON by default)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from memlm.cli.common import emit, encoder_option, errors_as_messages, plain_option


@click.group()
def bench() -> None:
    """Benchmarks: recall quality, latency, throughput."""


@bench.command()
@click.option("--data", type=click.Path(dir_okay=False, path_type=Path), envvar="MEMLM_LOCOMO", default=None,
              help="LoCoMo JSON (default ../shared/data/locomo/locomo-dev.json, else the shipped sample).")
@encoder_option
@click.option("--hops", type=int, default=None, help="Passes over memory (default from config).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the figures to this file.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@plain_option
@errors_as_messages
def locomo(data, encoder, hops, json_out, quiet, plain):
    """Turn/session recall@k, ingest throughput and search latency on LoCoMo."""
    from memlm.bench import locomo as lb
    from memlm.bench.locomo_data import find_locomo, load_locomo
    from memlm.engine import Memory

    path = find_locomo(data)
    conversations = load_locomo(path)
    with tempfile.TemporaryDirectory() as tmp, Memory(Path(tmp) / "bench.db", encoder=encoder) as mem:
        mem.encoder.encode(["warm up the encoder"])  # model load is not ingest time
        result = lb.run(mem, conversations, progress=not quiet, hops=hops)
    result["data"] = str(path)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))
    emit(result, plain, render_locomo)


def render_locomo(r: dict) -> str:
    ks = ("1", "5", "10", "20")
    lines = [f"LoCoMo recall ({r['questions']} questions, {r['conversations']} conversations, {r['turns']} turns, "
             f"encoder {r['encoder']})", "", f"{'':24}" + "".join(f"@{k:<7}" for k in ks)]
    lines.append(f"{'turn recall_any':24}" + "".join(f"{r['turn_recall_any'][k]:<8.3f}" for k in ks))
    lines.append(f"{'turn recall_all':24}" + "".join(f"{r['turn_recall_all'][k]:<8.3f}" for k in ks))
    lines.append(
        f"{'session recall_any':24}{'':16}" + "".join(f"{r['session_recall_any'][k]:<8.3f}" for k in ("5", "10"))
    )
    lines.append("")
    for name, c in r["per_category"].items():
        lines.append(
            f"  {name:20} n={c['questions']:<4} any@10 {c['turn_recall_any']['10']:.3f}  "
            f"all@10 {c['turn_recall_all']['10']:.3f}"
        )
    lines.append("")
    lines.append(
        f"ingest {r['ingest_turns_per_s']} turns/s; search p50 {r['search_ms_p50']} ms, p95 {r['search_ms_p95']} ms"
    )
    return "\n".join(lines)


@bench.command("search")
@click.option("--memories", "n", type=int, default=100_000, show_default=True, help="Memories in the file.")
@encoder_option
@click.option("--repeats", type=int, default=25, show_default=True, help="Rounds over the query set.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@plain_option
@errors_as_messages
def search_(n, encoder, repeats, json_out, quiet, plain):
    """Search latency (p50/p95, with and without the query embedding) with N memories in one file."""
    from memlm.bench import search as sb
    from memlm.engine import Memory

    if n <= 0 or repeats <= 0:
        raise ValueError("--memories and --repeats must be positive")
    with tempfile.TemporaryDirectory() as tmp, Memory(Path(tmp) / "bench.db", encoder=encoder) as mem:
        mem.encoder.encode(["warm up"])
        seconds = sb.fill(mem, n, seed_text=_shakespeare(), progress=not quiet)
        result = {"memories": n, "fill_rows_per_s": round(n / seconds, 1), "encoder": mem.encoder.name}
        result.update(sb.measure(mem, repeats=repeats))
        result["file_mb"] = round(sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20, 1)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))
    emit(result, plain, lambda r: "\n".join(f"{k:36} {v}" for k, v in r.items()))


def _shakespeare() -> str | None:
    from memlm.bench.locomo_data import find_locomo

    path = find_locomo(None).parent.parent / "tinyshakespeare" / "input.txt"
    return path.read_text(encoding="utf-8") if path.exists() else None


@bench.command("server")
@click.option(
    "--memories",
    "n",
    type=click.IntRange(min=0),
    default=100_000,
    show_default=True,
    help="Memories in the file before the clients start.",
)
@click.option("--clients", type=click.IntRange(1, 64), default=8, show_default=True, help="Concurrent clients.")
@click.option("--seconds", type=click.FloatRange(0.5, 600), default=20.0, show_default=True, help="Time limit.")
@click.option("--max-requests", type=click.IntRange(min=1), default=20_000, show_default=True, help="Request limit.")
@click.option(
    "--add-share",
    type=click.FloatRange(0, 1),
    default=0.1,
    show_default=True,
    help="Share of requests that add a memory (the rest search).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="Server worker threads per process (`memlm serve --threads`).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 16),
    default=2,
    show_default=True,
    help="Server processes (`memlm serve --workers`; 2 x 2 threads is the best setting on 2 cores).",
)
@encoder_option
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@plain_option
@errors_as_messages
def server_(n, clients, seconds, max_requests, add_share, threads, workers, encoder, json_out, plain):
    """Throughput and p50/p95/p99 latency of a real `memlm serve` under concurrent clients (loopback only)."""
    from memlm.bench import server as sv

    result = sv.run(n, clients, seconds, max_requests, add_share, encoder, threads, _shakespeare(), workers)
    if json_out:
        json_out.write_text(json.dumps(result, indent=2))
    emit(result, plain, _render_server)


def _render_server(r: dict) -> str:
    lines = [f"{r['clients']} clients, {r['memories']} memories, {r['seconds']} s, errors {r['errors']}"]
    for op in ("search", "add"):
        o = r[op]
        lines.append(
            f"  {op:7} {o['count']:6} requests  {o['per_s']:8} /s   p50 {o['p50_ms']} ms  "
            f"p95 {o['p95_ms']} ms  p99 {o['p99_ms']} ms"
        )
    if r.get("server_cpu_ms_per_request") is not None:
        lines.append(f"  server CPU {r['server_cpu_ms_per_request']} ms per request (all its processes)")
    return "\n".join(lines)


@bench.command()
@click.option("--rows", default="10000,100000,1000000", show_default=True, help="Store sizes, comma-separated.")
@click.option("--backends", default="sqlite,postgres", show_default=True, help="Backends, comma-separated.")
@click.option(
    "--pg-url",
    envvar="MEMLM_PG_URL",
    default=None,
    help="Admin URL of a PostgreSQL with pgvector [env MEMLM_PG_URL; default: start one with pgserver].",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the SQLite files and the pgserver data go (default ~/.cache/memlm/scale).",
)
@click.option("--queries", type=click.IntRange(10), default=200, show_default=True, help="Timed searches per size.")
@click.option("--no-embedding", is_flag=True, help="Skip timing MiniLM query embedding.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("benchmarks/results"),
    show_default=True,
    help="Writes scale.json and scale.png here.",
)
@click.option("--merge", is_flag=True, help="Keep the other (backend, rows) results already in OUT/scale.json.")
@plain_option
@errors_as_messages
def scale(rows, backends, pg_url, workdir, queries, no_embedding, out, merge, plain):
    """Bulk ingest, per-user search p50/p95, size and peak RSS at each size (embedding stand-in)."""
    from memlm.bench import scale as sb

    sizes = [int(x) for x in rows.split(",") if x.strip()]
    names = [b.strip() for b in backends.split(",") if b.strip()]
    if set(names) - {"sqlite", "postgres"}:
        raise ValueError(f"unknown backend in {backends!r}; expected sqlite and/or postgres")
    workdir = workdir or Path.home() / ".cache" / "memlm" / "scale"
    workdir.mkdir(parents=True, exist_ok=True)
    server = None
    if "postgres" in names and not pg_url:
        import pgserver

        server = pgserver.get_server(workdir / "pgdata", cleanup_mode="stop")
        pg_url = server.get_uri()
    results = []
    try:
        for backend in names:
            for n in sizes:
                target = sb.fresh_target(backend, n, workdir, pg_url)
                cfg = sb.ScaleConfig(
                    backend=backend, rows=n, target=target, queries=queries, with_embedding=not no_embedding
                )
                click.echo(f"memlm: bench scale {backend} {n:,} rows ...", err=True)
                results.append(sb.run_isolated(cfg))
                click.echo(sb.render(results[-1:]), err=True)
    finally:
        if server is not None:
            server.cleanup()
    out.mkdir(parents=True, exist_ok=True)
    import os

    if merge and (out / "scale.json").exists():
        fresh = {(r["backend"], r["rows"]) for r in results}
        kept = [
            r for r in json.loads((out / "scale.json").read_text())["results"] if (r["backend"], r["rows"]) not in fresh
        ]
        results = sorted(kept + results, key=lambda r: (r["backend"] != "sqlite", r["rows"]))

    report = {"embedding": sb.STANDIN, "cpus": os.cpu_count(), "load_avg_at_end": os.getloadavg(), "results": results}
    (out / "scale.json").write_text(json.dumps(report, indent=2))
    sb.plot(results, out / "scale.png")
    emit(report, plain, lambda r: sb.render(r["results"]))
