"""``python -m engine history --db PATH list | search QUERY | show KIND ID | export CID |
import FILE | runs | delete KIND ID``.

Reads (and, for ``import`` and ``delete``, writes) a Parlance history database. ``--db`` is
required: the engine never decides where user files live. The reading actions work on a copy in
memory, so a damaged file is reported and left as it is. ``--json`` prints machine-readable
output; it may be given before or after the sub-command.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path

from engine.cli_args import db_file, json_text, positive
from engine.history import SEARCH_KINDS, make_title
from engine.history_export import write_whole
from engine.paths import app_data_dir

LISTS = ("conversations", "summaries", "captions", "forecasts")
RESULT_KINDS = ("summary", "caption", "forecast")
ONE_OF = dict(zip(LISTS[1:], RESULT_KINDS))  # "summaries" -> "summary" ([:-1] gave "summarie")

HELP = "list, search, show, export, import and delete the saved history (chats, summaries, runs …)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Nothing said where the app's own database is (~/.local/share/Parlance/Parlance/ on Linux)
    app_db = str(app_data_dir() / "history.db").replace("%", "%%")
    parser.add_argument(
        "--db",
        required=True,
        type=db_file,
        help=f"the history database file; the app keeps its own at {app_db} (or in its --data-dir)",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    # --json is also accepted after the action; SUPPRESS keeps the value given before it.
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON output")

    p = sub.add_parser("list", help="list conversations (or --kind), newest first", parents=[after])
    p.add_argument("--kind", choices=LISTS, default="conversations", help="what to list")
    p.add_argument("--limit", type=positive, default=100, help="at most this many results (default 100)")

    p = sub.add_parser("search", help="full-text search across everything", parents=[after])
    p.add_argument(
        "query", help="words to find (the last may be a prefix); write -- first if it starts with -"
    )
    p.add_argument("--limit", type=positive, default=20, help="at most this many hits (default 20)")
    p.add_argument("--kind", choices=SEARCH_KINDS, action="append", help="only this kind of hit (repeatable)")

    p = sub.add_parser("show", help="print one summary, caption or forecast", parents=[after])
    p.add_argument("kind", choices=RESULT_KINDS, help="what it is (as `search` prints it)")
    p.add_argument("id", type=int, help="its id (as `search` or `list --kind` prints it)")

    p = sub.add_parser("runs", help="list the training runs, newest first", parents=[after])
    p.add_argument("--limit", type=positive, default=100, help="at most this many runs (default 100)")

    p = sub.add_parser(
        "delete", help="delete a conversation, summary, caption, forecast or training run", parents=[after]
    )
    p.add_argument("kind", choices=("conversation", *RESULT_KINDS, "run"), help="what it is")
    p.add_argument("id", type=int, help="its id")
    p.add_argument(
        "--force",
        action="store_true",
        help="delete a run recorded as running (the app may be preparing or training it now)",
    )

    p = sub.add_parser("export", help="export one conversation as Markdown or JSON", parents=[after])
    p.add_argument("cid", type=int, help="conversation id (see `list`)")
    p.add_argument("--format", choices=("md", "json"), default="md", help="md: current thread; json: all")
    p.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    p.add_argument("--force", action="store_true", help="replace --out when it already exists")

    p = sub.add_parser("import", help="import a conversation from a JSON export", parents=[after])
    p.add_argument("file", type=Path, help="a file written by `export --format json`")


def _emit(args: argparse.Namespace, obj, lines: list[str]) -> None:
    """``obj`` as JSON (exact: escapes keep control characters) or ``lines`` for people, in which
    stored control characters are shown, not sent: BEL rang, ESC[31m turned the terminal red."""
    if args.json:
        print(json_text(obj, ensure_ascii=False, indent=2))
    else:
        print("\n".join(_shown(line) for line in lines))


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _shown(text, one_line: bool = False) -> str:
    """``text`` for a terminal: control characters (Unicode Cc, as escape sequences, BEL and NUL
    are) written as ``\\xNN``; newlines and tabs kept, or for ``one_line`` fields newlines as ``\\n``."""
    keep = "\t" if one_line else "\n\t"
    return "".join(
        ch if ch in keep or unicodedata.category(ch) != "Cc" else _ESCAPES.get(ch, f"\\x{ord(ch):02x}")
        for ch in str(text)
    )


def _list(store, args) -> None:
    if args.kind != "conversations":
        rows = getattr(store, f"list_{args.kind}")(limit=args.limit)
        names = [_shown(_name(ONE_OF[args.kind], r), one_line=True) for r in rows]
        lines = [f"{r['id']:>5}  {r['created_at']:<24} {name}" for r, name in zip(rows, names)]
        _emit(args, rows, lines if rows else [f"no {args.kind}"])
        return
    convs = store.list_conversations()[: args.limit]
    lines = [f"{'id':>5}  {'updated':<24} {'msgs':>5}  title"]
    for c in convs:
        title = _shown(c["title"] or "(untitled)", one_line=True)
        lines.append(f"{c['id']:>5}  {c['updated_at']:<24} {c['message_count']:>5}  {title}")
    _emit(args, convs, lines if convs else ["no conversations"])


def _name(kind: str, row: dict) -> str:
    if kind == "summary":
        return " · ".join(p for p in (row.get("origin"), make_title(row["source"])) if p)
    return row["file_name"] if kind == "caption" else row["name"]


def _search(store, args) -> None:
    hits = store.search(args.query, limit=args.limit, kinds=args.kind)
    lines = []
    for h in hits:
        where = f" in conversation {h['conversation_id']}" if h["kind"] == "message" else ""
        head = f"{h['kind']} {h['id']}{where}: {_shown(h['title'], one_line=True)}  ({h['created_at']})"
        lines += [head, f"    {_shown(h['snippet'], one_line=True)}"]
    if any(h["kind"] != "message" for h in hits):
        lines.append("(open a summary, caption or forecast with: history --db FILE show KIND ID)")
    _emit(args, hits, lines if hits else ["no matches"])


def _show(store, args) -> None:
    row = getattr(store, f"get_{args.kind}")(args.id)
    meta = row.get("meta") or {}
    head = f"{args.kind} {row['id']}: {_shown(_name(args.kind, row), one_line=True)}  ({row['created_at']})"
    if args.kind == "summary":
        method = _shown(row["method"], one_line=True)
        body = [f"method: {method}", "", row["summary"], "", "source:", row["source"]]
    elif args.kind == "caption":
        scenes = [_scene_line(s) for s in meta.get("scenes") or [] if isinstance(s, dict)]
        body = [row["caption"], *(["scenes:", *scenes] if scenes else [])]
    else:
        mean = ", ".join(f"{v:.6g}" for v in meta.get("mean") or [] if isinstance(v, (int, float)))
        body = [f"method: {_shown(row['method'], one_line=True)}, horizon {row['horizon']}", f"mean: {mean}"]
    _emit(args, row, [head, *body])


def _scene_line(scene: dict) -> str:
    start = scene.get("start_s")
    when = f"{start:.1f} s" if isinstance(start, (int, float)) and not isinstance(start, bool) else "?"
    return f"  {when}: {_shown(scene.get('caption', ''), one_line=True)}"


def _runs(store, args) -> None:
    runs = store.list_runs(curves=False)[: args.limit]
    rows = []
    for r in runs:
        folder = store.run_folder(r["checkpoint"], r["id"])
        keys = ("id", "task", "status", "label", "started_at", "finished_at", "data", "metrics")
        rows.append({**{k: r[k] for k in keys}, "folder": None if folder is None else str(folder)})
    lines = [f"{'id':>5}  {'task':<14} {'status':<9} {'started':<24} label / folder"]
    for r in rows:
        task, status = (_shown(r[k], one_line=True) for k in ("task", "status"))
        lines.append(f"{r['id']:>5}  {task:<14} {status:<9} {r['started_at']:<24} {_run_place(r)}")
    _emit(args, rows, lines if rows else ["no training runs"])


def _run_place(run: dict) -> str:
    """A run's name (if it has one) and folder, on one line for a terminal."""
    folder = run["folder"] or "(no folder)"
    if folder != "(no folder)" and not Path(folder).is_dir():
        folder += " (missing)"
    label = f"{run['label']} · " if run["label"] else ""
    return _shown(label + folder, one_line=True)


def _delete(store, args) -> None:
    if args.kind == "run":
        _delete_run(store, args)
        return
    if args.kind == "conversation":
        store.delete_conversation(args.id)
    else:
        store.delete_result(args.kind, args.id)
    _emit(args, {"deleted": args.kind, "id": args.id}, [f"deleted {args.kind} {args.id}"])


def _delete_run(store, args) -> None:
    """Only the record: its folder (a model the pickers offer, perhaps) is the person's to delete."""
    from engine.training import folder_in_use

    run = store.get_run(args.id)
    folder = store.run_folder(run["checkpoint"], args.id)
    pid = None if folder is None else folder_in_use(folder)
    if pid is not None:
        raise ValueError(
            f"run {args.id} is being trained now (process {pid or 'starting'}, in {folder}); "
            "wait for it to end or stop it, then delete it"
        )
    preparing = folder is None or folder.is_dir()  # a run being prepared has made its folder
    if run["status"] == "running" and preparing and not getattr(args, "force", False):
        # the trainer holds its folder only once its data is ready (features, tokenizer, word vectors)
        raise ValueError(
            f"run {args.id} is recorded as running: it may be training now (the app prepares its data "
            "before training); stop it first, or add --force if it is not running (the app was closed)"
        )
    store.delete_run(args.id)
    info = {"deleted": "run", "id": args.id, "folder": None if folder is None else str(folder)}
    line = f"deleted run {args.id}"
    if folder is not None and folder.exists():
        shown = _shown(folder, one_line=True)
        line += f"; its folder {shown} is left on disk: delete it yourself if you no longer need it"
    _emit(args, info, [line])


def _export(store, args) -> None:
    text = store.export_conversation(args.cid, args.format)
    if args.out is None or str(args.out) == "-":
        if args.json and args.format == "md":  # --json: one JSON object, the Markdown inside it
            _emit(args, {"conversation_id": args.cid, "format": "md", "text": text}, [])
        else:
            sys.stdout.write(text)
        return
    db = Path(store.path).resolve()
    if args.out.resolve() in {db, *(db.with_name(db.name + end) for end in ("-wal", "-shm", "-journal"))}:
        raise ValueError(f"{args.out} is the history database itself; export to another file")
    if args.out.is_dir():
        raise ValueError(f"{args.out} is a folder; name a file to export to")
    if args.out.exists() and not args.force:
        raise ValueError(f"{args.out} already exists; add --force to replace it, or name another file")
    write_whole(args.out, text)
    info = {"conversation_id": args.cid, "format": args.format, "path": str(args.out)}
    _emit(args, info, [f"wrote conversation {args.cid} to {args.out}"])


def _import(store, args) -> None:
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{args.file} is not UTF-8 text; a Parlance export is a UTF-8 JSON file") from None
    cid = store.import_conversation(text)
    _emit(args, {"conversation_id": cid}, [f"imported as conversation {cid}"])


ACTIONS = {
    "list": _list,
    "search": _search,
    "show": _show,
    "export": _export,
    "import": _import,
    "runs": _runs,
    "delete": _delete,
}
READING = ("list", "search", "show", "export", "runs")  # on a copy in memory: a damaged file is left as it is


def run(args: argparse.Namespace) -> int:
    from engine.history import HistoryStore

    if args.action not in ACTIONS:
        raise ValueError(f"unknown history action {args.action!r}; known: {', '.join(ACTIONS)}")
    if args.action != "import" and not Path(args.db).exists():
        raise FileNotFoundError(f"no history database at {args.db}")
    if args.action in READING:
        with HistoryStore.read_only_copy(args.db) as store:
            ACTIONS[args.action](store, args)
        return 0
    with HistoryStore(args.db, named_by_user=True) as store:
        if store.recovered_from is not None:
            print(
                f"warning: {args.db} was damaged; it was moved to {store.recovered_from} and a new, "
                "empty history was started",
                file=sys.stderr,
            )
        ACTIONS[args.action](store, args)
    return 0
