"""Each conversation's table as a Mermaid state diagram in docs/conversations/<name>.md.

    python -m handlers.diagrams           write the diagrams
    python -m handlers.diagrams --check   exit 1 when one is stale or missing (CI)

The pages are generated from the tables (handlers/*.py `CONVERSATION`) and the
handlers' docstrings, so they say what the code does; never edit them by hand.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

from handlers.base import STAY, Conversation, Step
from handlers.router import CONVERSATIONS

DOCS = Path(__file__).resolve().parent.parent / "docs" / "conversations"
# Entry points work from wherever the farmer is: drawn from one "any state" node.
ANYWHERE = "anywhere"


def _summary(step: Step) -> str:
    """The handler's docstring, its first paragraph on one line."""
    doc = inspect.getdoc(step.handler) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _entries(conversation: Conversation) -> Iterator[tuple[str, str, Step]]:
    """(where it starts, how the farmer gets there, step), in the table's order."""
    aliases: dict[str, list[str]] = {}
    for alias, command in conversation.aliases.items():
        aliases.setdefault(command, []).append(alias)
    for name, step in conversation.commands.items():
        typed = aliases.get(name, [])
        yield ANYWHERE, f"/{name}" + (f" (or {', '.join(typed)})" if typed else ""), step
    for prefix, step in conversation.buttons.items():
        yield ANYWHERE, f"tap {prefix}", step
    for event, step in conversation.events.items():
        yield ANYWHERE, event, step
    for state, text_step in conversation.states.items():
        if text_step is not None:
            yield state, f"typed text in {state}", text_step


def _edge_label(how: str) -> str:
    if how.startswith("typed text in "):
        return "typed text"
    # Aliases would crowd the arrow; Mermaid ends a label at a colon or a semicolon.
    return how.split(" (or ")[0].replace(":", " ").replace(";", ",")


def render(conversation: Conversation, source: str) -> str:
    """The page for one conversation: its diagram, then its steps in a table."""
    edges: dict[tuple[str, str], list[str]] = {}
    for start, how, step in _entries(conversation):
        for target in step.to:
            end = start if target == STAY else target
            labels = edges.setdefault((start, end), [])
            label = _edge_label(how)
            if label not in labels:
                labels.append(label)
    lines = [
        f"# The {conversation.name} conversation",
        "",
        f"<!-- Generated from {source} by `python -m handlers.diagrams`: do not edit. -->",
        "",
        "Commands, buttons and events are answered in any state (drawn from *anywhere*);",
        "typed text goes to the handler of the state the conversation is in. An arrow back",
        "to where it started means the conversation stays there.",
        "",
        "```mermaid",
        "stateDiagram-v2",
        "    direction LR",
        f'    state "any state" as {ANYWHERE}',
    ]
    if "new" in conversation.states:
        lines.append("    [*] --> new")
    for state in conversation.states:
        if state not in {end for _start, end in edges} | {start for start, _end in edges}:
            lines.append(f"    {state}")
    for (start, end), labels in edges.items():
        lines.append(f"    {start} --> {end} : {', '.join(labels)}")
    lines += [
        "```",
        "",
        "| How the farmer gets there | Handler | What it answers, and what it asks next | Goes to |",
        "|---|---|---|---|",
    ]
    for _start, how, step in _entries(conversation):
        goes = ", ".join("(stays)" if target == STAY else f"`{target}`" for target in step.to)
        cells = [how, f"`{step.handler.__name__}`", _summary(step), goes]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    states = list(conversation.states)
    if states:
        lines += ["", "States declared here: " + ", ".join(f"`{s}`" for s in states) + "."]
    return "\n".join(lines) + "\n"


def pages() -> dict[Path, str]:
    """Every conversation's page, by where it is kept."""
    result: dict[Path, str] = {}
    for conversation in CONVERSATIONS:
        module = inspect.getmodule(next(step for _s, _h, step in _entries(conversation)).handler)
        source = (module.__name__ if module else "handlers").replace(".", "/") + ".py"
        result[DOCS / f"{conversation.name}.md"] = render(conversation, source)
    return result


def stale() -> list[Path]:
    """The pages that differ from the tables, are missing, or belong to no conversation."""
    wanted = pages()
    out_of_date = [path for path, text in wanted.items() if not _reads(path, text)]
    leftovers = sorted(set(DOCS.glob("*.md")) - set(wanted)) if DOCS.exists() else []
    return out_of_date + leftovers


def _reads(path: Path, text: str) -> bool:
    return path.exists() and path.read_text(encoding="utf-8") == text


def write() -> list[Path]:
    """Write every page that changed; returns those written."""
    DOCS.mkdir(parents=True, exist_ok=True)
    written = []
    for path, text in pages().items():
        if not _reads(path, text):
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handlers.diagrams", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when a diagram is stale")
    args = parser.parse_args(argv)
    if args.check:
        behind = stale()
        for path in behind:
            print(f"stale: {path.relative_to(DOCS.parent.parent)}", file=sys.stderr)
        if behind:
            print("run: python -m handlers.diagrams", file=sys.stderr)
            return 1
        print(f"{len(CONVERSATIONS)} conversation diagrams are current")
        return 0
    for path in write():
        print(f"wrote {path.relative_to(DOCS.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
